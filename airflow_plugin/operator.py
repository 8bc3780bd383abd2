"""``SkipwiseOperator``: a PythonOperator whose callable runs only when its signature is new."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import XComArg, get_current_context
from airflow.sdk.bases.operator import partial as airflow_partial

from skipwise import ArgumentError, StoreError
from skipwise.airflow import context as airflow_context
from skipwise.airflow.dagplan import dag_targets_in
from skipwise.airflow.mapped import SkipwisePartial
from skipwise.airflow.record import FIELD, TaskRecord, result_name
from skipwise.airflow.reference import as_refs, is_reference, part_references, reference
from skipwise.airflow.stores import task_store
from skipwise.host import (
    PARTITION,
    Outcome,
    Step,
    StepOptions,
    Store,
    force_requested,
    register_discoverer,
    using_instance,
)

# The DAG-run conf key that forces tasks to recompute: {"skipwise_force": ["task_id", "*"]}.
FORCE_CONF = "skipwise_force"
# The DAG param that picks the pipeline instance of a run ("mini"; trigger with
# {"skipwise_instance": "mini"}); without it, the configured one.
INSTANCE_PARAM = "skipwise_instance"


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
    asset events, with ``extra["skipwise"]`` saying reused or computed. With
    ``multiple_outputs=True`` the result must be a dict with string keys: each key's XCom is a
    reference to that item of the stored result (keys known on a hit without loading data).

    Takes ``skipwise.cached``'s options (``skipwise.host.StepOptions``): ``name`` lists
    results in the store (default ``<dag_id>.<task_id>``), ``version``, ``ignore``,
    ``depends_on``, ``codec``, ``allow_pickle``, ``on_lease_held`` (what the task does while
    another computes the same signature: ``wait``, ``compute``, ``fail``), ``lazy`` (the
    callable returns a SQL query over its upstream results, given as SQLAlchemy tables, which
    the SQL store runs on a miss: see :mod:`skipwise.lazy`), ``input_type`` (the table type
    upstream results arrive as), ``fresh`` (functions telling how fresh external sources are);
    the other keyword arguments are
    ``PythonOperator``'s. ``store`` is this task's store: a URL or path, or the id of a
    ``skipwise`` connection; without it, the configured one (see :mod:`skipwise.airflow.stores`
    for the order: connection ``skipwise_default``, ``[skipwise] store``, ``$SKIPWISE_STORE``).
    """

    template_fields = (*PythonOperator.template_fields, PARTITION, FIELD)
    shallow_copy_attrs = (*PythonOperator.shallow_copy_attrs, "skipwise_options")
    ui_color = "#e6f4ea"

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        # StepOptions' fields, spelled out: Airflow validates partial()/expand() arguments
        # against the names in this signature.
        name: str | None = None,
        version: str | int | None = None,
        ignore: Iterable[str] = (),
        depends_on: Iterable[object] = (),
        codec: str | None = None,
        allow_pickle: bool | None = None,
        on_lease_held: str | None = None,
        lazy: bool = False,
        input_type: object = None,
        fresh: object = None,
        partition: str | None = None,
        store: str | None = None,
        skipwise: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        # ``skipwise``: the record a mapped task keeps in its partial arguments
        # (skipwise.airflow.mapped), given back when Airflow unmaps it; built afresh below.
        options = StepOptions(
            name=name,
            version=version,
            ignore=tuple(ignore),
            depends_on=tuple(depends_on),
            codec=codec,
            allow_pickle=allow_pickle,
            on_lease_held=on_lease_held,
            lazy=lazy,
            input_type=input_type,
            fresh=fresh,
        )
        refuse_element_arguments(kwargs.get("task_id"), kwargs)
        super().__init__(python_callable=python_callable, **kwargs)
        if self.is_async:
            raise TypeError(f"{self.task_id}: skipwise tasks need a synchronous callable")
        self.partition = partition
        if store is not None and (not isinstance(store, str) or not store.strip()):
            raise TypeError(
                f"{self.task_id}: store= takes a store URL or path, or a skipwise connection id; "
                f"got {store!r}"
            )
        self.skipwise_store = store  # resolved when the task runs: credentials stay off DAGs
        # The name as given: the default depends on the DAG, known once the task is in one.
        unsigned = airflow_context.unsigned_parameters(python_callable)
        self.skipwise_options = dataclasses.replace(options, ignore=(*options.ignore, *unsigned))
        inputs = {
            op.task_id for op, _ in XComArg.iter_xcom_references([self.op_args, self.op_kwargs])
        }
        self.skipwise = TaskRecord(options.name, tuple(sorted(inputs)), self.step().code())

    @classmethod
    def partial(cls, **kwargs: Any) -> SkipwisePartial:  # type: ignore[override]
        """Airflow's ``partial()``, whose ``expand()`` keeps the mapped task's record."""
        base = airflow_partial(cls, **kwargs)
        base._expand_called = True  # this one is replaced, not left unmapped
        return SkipwisePartial(operator_class=cls, kwargs=base.kwargs, params=base.params)

    @property
    def result_name(self) -> str:
        return result_name(self.dag_id, self.task_id, self.skipwise_options.name)

    def step(self, store: Store | None = None) -> Step[Any]:
        """The callable as a skipwise step: signed exactly as ``skipwise.cached`` signs it,
        unsigned context parameters left out; ``store`` is where it runs (the task's store)."""
        options = dataclasses.replace(self.skipwise_options, name=self.result_name, store=store)
        return Step(self.python_callable, options)

    def execute_callable(self) -> dict[str, Any]:
        """Called by ``PythonOperator.execute`` with the final arguments in ``op_args`` and
        ``op_kwargs`` (rendered, plus the context values the callable declares)."""
        context = get_current_context()
        chosen = (context.get("params") or {}).get(INSTANCE_PARAM)
        with using_instance(chosen, f"DAG param {INSTANCE_PARAM!r}"):
            return self._execute_in_instance(context)

    def _execute_in_instance(self, context: Mapping[str, Any]) -> dict[str, Any]:
        store, conn_id = task_store(self.skipwise_store)
        args = tuple(as_refs(arg, store) for arg in self.op_args)
        kwargs = {key: as_refs(value, store) for key, value in self.op_kwargs.items()}
        facts = None if self.partition is None else {PARTITION: str(self.partition)}
        step = self.step(store)
        args, kwargs = step.derive(args, kwargs)
        signed = airflow_context.signed_kwargs(self.python_callable, kwargs)
        conf = getattr(context.get("dag_run"), "conf", None) or {}
        force = force_requested(
            conf.get(FORCE_CONF), f"DAG run conf {FORCE_CONF!r}", self.task_id, step.name
        )
        decision = step.resolve(step.sign(args, signed, facts), force=force)
        call = super().execute_callable

        def body() -> Any:  # a miss: upstream results loaded (as input_type), then the callable
            self.op_args, self.op_kwargs = step.inputs(args, kwargs)
            return call()

        producer = {"airflow": f"{self.dag_id}/{self.task_id}/{context['run_id']}"}
        outcome = step.complete(decision, body, load=False, producer=producer)
        if not outcome.stored:
            raise StoreError(
                f"{self.task_id}: computed, but store {store.url} did not keep the result "
                f"({outcome.reason}); downstream tasks receive results through the store"
            )
        for event in _outlet_events(self, context):
            event.extra["skipwise"] = {
                "status": outcome.status.value,
                "signature": outcome.signature,
            }
        whole = reference(outcome, store, conn_id)
        if not self.multiple_outputs:
            return self._mappable(whole, step, outcome, context)
        keys = step.result_keys(outcome)
        if keys is None or not all(isinstance(key, str) for key in keys):
            raise TypeError(
                f"{self.task_id}: multiple_outputs=True needs a result that is a dict with "
                f"string keys; result {outcome.signature[:12]} of {step.name} is not one (it "
                "is stored: return a dict, or set multiple_outputs=False)"
            )
        return part_references(whole, keys)

    def _mappable(
        self,
        whole: dict[str, Any],
        step: Step[Any],
        outcome: Outcome[Any],
        context: Mapping[str, Any],
    ) -> Any:
        """The reference, or one reference per part of the result when a mapped task expands
        over this one (Airflow maps over the entries of the XCom it pushes)."""
        mappers = sorted(task.node_id for task in self.iter_mapped_dependants())
        if not mappers or context["ti"].is_mapped:  # Airflow's own test
            return whole
        keys = step.result_keys(outcome, lists=True)
        if keys is None:
            raise TypeError(
                f"{self.task_id}: {', '.join(mappers)} maps over this task's result, which must "
                f"be a list, a tuple or a dict with string keys; result "
                f"{outcome.signature[:12]} of {step.name} is not one (it is stored, and no "
                "mapped task ran)"
            )
        return part_references(whole, keys)


def refuse_element_arguments(task_id: str | None, arguments: Mapping[str, Any]) -> None:
    """Refuse ``op_args``/``op_kwargs`` that are one element of a skipwise result (what a map
    index receives from ``expand_kwargs()`` or ``expand(op_args=...)`` over one): the names
    they hold are in the data, which is not loaded to sign."""
    for field in ("op_args", "op_kwargs"):
        if is_reference(arguments.get(field)):
            raise ArgumentError(
                f"{task_id}: its {field} would be one element of a skipwise result "
                "(expand_kwargs() or expand(op_args=/op_kwargs=) over it), whose names skipwise "
                "cannot know without loading data; expand over a parameter instead "
                "(.expand(row=...)) and unpack the element in the function"
            )


def _outlet_events(task: SkipwiseOperator, context: Mapping[str, Any]) -> list[Any]:
    events = context.get("outlet_events")
    return [events[outlet] for outlet in task.outlets] if events is not None else []


# DAG files with skipwise tasks import this module: `skipwise plan` then finds their tasks.
register_discoverer(dag_targets_in)
