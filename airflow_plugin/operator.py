"""``SkipwiseOperator``: a PythonOperator whose callable runs only when its signature is new."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import XComArg, get_current_context

from skipwise import config, plan
from skipwise.airflow import context as airflow_context
from skipwise.airflow.dagplan import dag_targets_in
from skipwise.airflow.record import FIELD, TaskRecord, result_name
from skipwise.airflow.reference import as_refs, reference
from skipwise.engine import Cached, producer_context
from skipwise.errors import StoreError
from skipwise.tree import PARTITION


@dataclass(frozen=True)
class _Options:
    """What ``skipwise.cached`` would be given: how to sign and how to store."""

    name: str | None
    version: str | int | None
    ignore: tuple[str, ...]
    depends_on: tuple[object, ...]
    codec: str | None
    allow_pickle: bool | None


class SkipwiseOperator(PythonOperator):
    """Runs ``python_callable`` only when the call's signature is not in the store.

    The signature is the one ``skipwise.cached(python_callable, version=..., ...)`` gives the
    same call, so results are shared with plain Python and Dagster on the same store: the code
    and every helper it reaches, the rendered ``op_args``/``op_kwargs``, upstream skipwise
    results by their signature, the date-like context values the callable declares (see
    :mod:`skipwise.airflow.context`) and, if set, ``partition`` (templated, e.g.
    ``"{{ ds }}"``; signed as Dagster signs a partition key). Never the run id or try number.

    On a hit the callable does not run and nothing is loaded; on a miss the upstream results
    are loaded, the callable runs and its result is stored. Either way the task succeeds and
    its XCom is a small reference (:mod:`skipwise.airflow.reference`), and outlets get their
    asset events, with ``extra["skipwise"]`` saying reused or computed.

    ``name`` lists results in the store (default ``<dag_id>.<task_id>``); ``version``,
    ``ignore``, ``depends_on``, ``codec`` and ``allow_pickle`` are ``skipwise.cached``'s.
    The store is skipwise's configured one (``$SKIPWISE_STORE`` for workers and API server).
    """

    template_fields = (*PythonOperator.template_fields, PARTITION, FIELD)
    shallow_copy_attrs = (*PythonOperator.shallow_copy_attrs, "skipwise_options")
    ui_color = "#e6f4ea"

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        name: str | None = None,
        version: str | int | None = None,
        ignore: Iterable[str] = (),
        depends_on: Iterable[object] = (),
        codec: str | None = None,
        allow_pickle: bool | None = None,
        partition: str | None = None,
        **kwargs: Any,
    ) -> None:
        if kwargs.get("multiple_outputs"):
            raise ValueError(
                "skipwise tasks push one reference to their stored result: "
                "multiple_outputs is not supported"
            )
        super().__init__(python_callable=python_callable, **kwargs)
        if self.is_async:
            raise TypeError(f"{self.task_id}: skipwise tasks need a synchronous callable")
        self.partition = partition
        self.skipwise_options = _Options(
            name, version, tuple(ignore), tuple(depends_on), codec, allow_pickle
        )
        inputs = {
            op.task_id for op, _ in XComArg.iter_xcom_references([self.op_args, self.op_kwargs])
        }
        self.skipwise = TaskRecord(name, tuple(sorted(inputs)), self.signer().code())

    @property
    def result_name(self) -> str:
        return result_name(self.dag_id, self.task_id, self.skipwise_options.name)

    def signer(self) -> Cached[..., Any]:
        """Signs calls exactly as ``skipwise.cached`` does; unsigned context parameters are
        left out."""
        options = self.skipwise_options
        fn = self.python_callable
        return Cached(
            fn,
            name=self.result_name,
            version=options.version,
            ignore=[*options.ignore, *airflow_context.unsigned_parameters(fn)],
            depends_on=options.depends_on,
        )

    def execute_callable(self) -> dict[str, Any]:
        """Called by ``PythonOperator.execute`` with the final arguments in ``op_args`` and
        ``op_kwargs`` (rendered, plus the context values the callable declares)."""
        context = get_current_context()
        args, kwargs = as_refs(tuple(self.op_args)), as_refs(dict(self.op_kwargs))
        extra = None if self.partition is None else {PARTITION: str(self.partition)}
        fn = self.python_callable
        tree = self.signer().tree_for(args, airflow_context.signed_kwargs(fn, kwargs), extra)
        call = super().execute_callable

        def run(*loaded_args: Any, **loaded_kwargs: Any) -> Any:  # upstream results loaded
            self.op_args, self.op_kwargs = loaded_args, loaded_kwargs
            return call()

        options = self.skipwise_options
        store = config.current_store()
        runner = Cached(
            run,
            name=self.result_name,
            codec=options.codec,
            allow_pickle=options.allow_pickle,
            store=store,
        )
        producer = {"airflow": f"{self.dag_id}/{self.task_id}/{context['run_id']}"}
        token = producer_context.set(producer)
        try:
            outcome = runner.execute(tree, args, kwargs, load=False)
        finally:
            producer_context.reset(token)
        if outcome.manifest.extra.get("stored") is False:
            raise StoreError(
                f"{self.task_id}: computed, but store {store.url} did not keep the result "
                f"({outcome.reason}); downstream tasks receive results through the store"
            )
        for event in _outlet_events(self, context):
            event.extra["skipwise"] = {"status": outcome.status, "signature": outcome.signature}
        return reference(outcome, store)


def _outlet_events(task: SkipwiseOperator, context: Mapping[str, Any]) -> list[Any]:
    events = context.get("outlet_events")
    return [events[outlet] for outlet in task.outlets] if events is not None else []


# DAG files with skipwise tasks import this module: `skipwise plan` then finds their tasks.
if dag_targets_in not in plan.discoverers:
    plan.discoverers.append(dag_targets_in)
