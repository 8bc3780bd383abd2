"""``skipwise.dagster.asset``: a Dagster asset whose body runs only when its signature is new.

No ``from __future__ import annotations`` in this module: Dagster inspects the generated
compute function's parameters at definition time.
"""

import inspect
from collections.abc import Callable, Mapping
from typing import Any

import dagster as dg

from skipwise.dagster import lineage
from skipwise.dagster.discover import STEP
from skipwise.dagster.io_manager import SkipwiseIOManager
from skipwise.dagster.report import outcome_metadata
from skipwise.dagster.step import AssetKeyLike, AssetStep, UpstreamSignatures
from skipwise.host import StepOptions, Store, force_requested

# The run tag that forces assets to recompute: "*" or comma-separated globs of asset keys or
# result names (e.g. ``dagster asset materialize --tags '{"skipwise/force": "*"}'``).
FORCE_TAG = "skipwise/force"
# Dagster arguments the decorator decides itself.
_OWNED = ("code_version", "config_schema", "ins", "io_manager_def")


def asset(
    fn: Callable[..., Any] | None = None,
    *,
    ins: Mapping[str, AssetKeyLike] | None = None,
    result_name: str | None = None,
    io_manager_key: str = "io_manager",
    **asset_kwargs: Any,
) -> Any:
    """Define a Dagster asset from a plain function; it runs only when its signature is new.

    Parameters without a default (or mapped by ``ins``) are upstream assets; those with a
    simple default are run config; a first parameter named ``context`` gets the Dagster
    context. The signature is the one ``skipwise.cached(fn)`` gives the same call, plus the
    partition key for partitioned assets. ``code_version`` is set to the code digest.

    On a hit the body does not run and no upstream data is loaded; on a miss upstream
    results are loaded by signature, the body runs and the result is stored. Either way the
    materialization's data version is the signature, with metadata saying what happened.
    ``io_manager_key`` must name a :class:`SkipwiseIOManager`: the store results live in.
    ``skipwise.cached``'s options (``version``, ``ignore``, ``depends_on``, ``codec``,
    ``allow_pickle``) are taken as they are; ``result_name`` is the name in the store. Other
    keyword arguments go to ``dagster.asset`` (``name``, ``key_prefix``, ``partitions_def``,
    ``group_name``, ``deps`` for ordering only...).
    """
    asset_kwargs = dict(asset_kwargs)
    options = StepOptions.take(asset_kwargs, leave=("name",))
    if options.store is not None:
        raise dg.DagsterInvalidDefinitionError(
            "skipwise.dagster.asset keeps results in its IO manager's store: set the store on "
            "the SkipwiseIOManager, not on the asset"
        )

    def define(step_fn: Callable[..., Any]) -> dg.AssetsDefinition:
        kwargs = dict(asset_kwargs)
        clash = [k for k in _OWNED if k in kwargs]
        if clash:
            raise dg.DagsterInvalidDefinitionError(f"skipwise.dagster.asset sets {clash} itself")
        name = kwargs.pop("name", None) or step_fn.__name__
        prefix = kwargs.pop("key_prefix", None) or []
        key = dg.AssetKey([*([prefix] if isinstance(prefix, str) else prefix), name])
        step = AssetStep.of(step_fn, result_name or lineage.result_name(key), ins or {}, options)

        def compute(context):  # unannotated: see the module docstring
            return _materialize(context, step, io_manager_key)

        compute.__name__ = name
        setattr(compute, STEP, step)  # how skipwise plan finds the step (discover.py)
        return dg.asset(
            name=name,
            key_prefix=prefix or None,
            deps=[*step.upstream.values(), *kwargs.pop("deps", ())],
            code_version=step.code_version(),
            config_schema=step.config_schema() or None,
            io_manager_key=io_manager_key,
            description=kwargs.pop("description", None) or inspect.getdoc(step_fn),
            **kwargs,
        )(compute)

    return define if fn is None else define(fn)


def _materialize(
    context: dg.AssetExecutionContext, step: AssetStep, io_manager_key: str
) -> dg.MaterializeResult:
    store = _store(context, io_manager_key)
    partition = _partition(context)
    kwargs = step.arguments(
        _upstream(context, step), context.op_execution_context.op_config or {}, store, context
    )
    tree = step.tree(kwargs, partition)
    runner = step.runner(lineage.partition_name(step.name, partition), store)
    producer = {"dagster_run": context.run.run_id, "asset": context.asset_key.to_user_string()}
    # A hit reads nothing but the manifest: Dagster records it by its signature, and the
    # value is loaded only by a downstream step that runs.
    force = force_requested(
        context.run.tags.get(FORCE_TAG), f"run tag {FORCE_TAG!r}", producer["asset"], runner.name
    )
    outcome = runner.complete(
        runner.resolve(tree, force=force),
        lambda: runner.call((), kwargs),
        load=False,
        producer=producer,
    )
    context.log.info(f"skipwise: {outcome.status} {tree.signature[:12]}: {outcome.reason}")
    return dg.MaterializeResult(
        data_version=dg.DataVersion(tree.signature),
        metadata=outcome_metadata(outcome, store.url),
        tags={"skipwise/status": outcome.status.value},
    )


def _store(context: dg.AssetExecutionContext, io_manager_key: str) -> Store:
    manager = getattr(context.resources, io_manager_key)
    if not isinstance(manager, SkipwiseIOManager):
        raise dg.DagsterInvalidDefinitionError(
            f"{context.asset_key.to_user_string()}: resource {io_manager_key!r} must be a "
            f"skipwise.dagster.SkipwiseIOManager (the store results live in), got "
            f"{type(manager).__name__}"
        )
    return manager.open_store()


def _partition(context: dg.AssetExecutionContext) -> str | None:
    partitioned = context.has_partition_key or context.has_partition_key_range
    return lineage.one_partition(context.asset_key, context.partition_keys if partitioned else [])


def _upstream(context: dg.AssetExecutionContext, step: AssetStep) -> UpstreamSignatures:
    """Upstream signatures from the instance: single, or per upstream partition."""
    input_names = {key: name for name, key in context.assets_def.keys_by_input_name.items()}
    graph = context.job_def.asset_layer.asset_graph
    signatures: dict[str, str | dict[str, str]] = {}
    for param, key in step.upstream.items():
        if graph.get(key).partitions_def is None:
            signatures[param] = lineage.required_signature(context.instance, key)
            continue
        parts = context.asset_partition_keys_for_input(input_names[key])
        by_part = {p: lineage.required_signature(context.instance, key, p) for p in parts}
        single = context.has_partition_key and len(by_part) == 1
        signatures[param] = next(iter(by_part.values())) if single else by_part
    return signatures
