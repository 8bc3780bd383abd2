"""``skipwise.dagster.asset`` and ``multi_asset``: Dagster assets whose body runs only when its
signature is new. Both go one way: :func:`_run` signs, resolves and completes the step, and
:func:`_result` reports it for each asset (one, or one per part of the result).

No ``from __future__ import annotations`` in this module: Dagster inspects the generated
compute function's parameters at definition time.
"""

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import dagster as dg

from skipwise.dagster import lineage
from skipwise.dagster.discover import STEP
from skipwise.dagster.io_manager import manager_of
from skipwise.dagster.report import outcome_metadata
from skipwise.dagster.step import AssetKeyLike, AssetStep, UpstreamResults
from skipwise.host import (
    Outcome,
    SignatureTree,
    Step,
    StepOptions,
    Store,
    force_requested,
    latest_tree,
)

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
    ``allow_pickle``, ``on_lease_held``, ``lazy``, ``input_type``, ``fresh``) are taken as
    they are; ``result_name`` is the name in the store. With ``lazy=True`` the function returns
    a SQL query over its upstream assets (given as SQLAlchemy tables), run in the IO manager's
    SQL store on a miss. Other
    keyword arguments go to ``dagster.asset`` (``name``, ``key_prefix``, ``partitions_def``,
    ``group_name``, ``deps`` for ordering only...).
    """
    options = _options(asset_kwargs)

    def define(step_fn: Callable[..., Any]) -> dg.AssetsDefinition:
        kwargs = dict(asset_kwargs)
        name = kwargs.pop("name", None) or step_fn.__name__
        prefix = kwargs.pop("key_prefix", None) or []
        key = dg.AssetKey([*([prefix] if isinstance(prefix, str) else prefix), name])
        step = AssetStep.of(step_fn, result_name or lineage.result_name(key), ins or {}, options)

        def compute(context):  # unannotated: see the module docstring
            with manager_of(context.resources, io_manager_key, _label(context)).in_instance():
                return _result(_run(context, step, io_manager_key))

        return dg.asset(
            name=name,
            key_prefix=prefix or None,
            io_manager_key=io_manager_key,
            **_definition(step, kwargs),
        )(_named(compute, name, step))

    return define if fn is None else define(fn)


def multi_asset(
    fn: Callable[..., Any] | None = None,
    *,
    outs: Mapping[str, dg.AssetOut],
    ins: Mapping[str, AssetKeyLike] | None = None,
    result_name: str | None = None,
    io_manager_key: str = "io_manager",
    **multi_asset_kwargs: Any,
) -> Any:
    """Define several Dagster assets from one plain function that returns them together: a
    tuple in the order of ``outs``, or a dict keyed by output name. Its body runs
    only when its signature is new, and the result is stored once, in one entry.

    Parameters, options and metadata are :func:`asset`'s; ``outs`` maps output names to
    ``dagster.AssetOut`` (key, prefix, group...). Every output is materialized by every run,
    hit or miss, with the signature and its ``skipwise/item`` (the output's key or index in
    the result): a downstream asset loads only its part, and is signed by it. ``result_name``
    defaults to the op's ``name`` (the function's name). Other keyword arguments go to
    ``dagster.multi_asset``.
    """
    options = _options(multi_asset_kwargs)
    elsewhere = sorted(n for n, out in outs.items() if _manager_key(out) != io_manager_key)
    if elsewhere or not outs:
        raise dg.DagsterInvalidDefinitionError(
            f"skipwise.dagster.multi_asset needs outs, each with io_manager_key={io_manager_key!r}"
            f" (the store the result lives in); not so: {elsewhere}"
        )
    names = list(outs)

    def define(step_fn: Callable[..., Any]) -> dg.AssetsDefinition:
        kwargs = dict(multi_asset_kwargs)
        name = kwargs.pop("name", None) or step_fn.__name__
        stored_as = result_name or lineage.result_name(dg.AssetKey(name))
        step = AssetStep.of(step_fn, stored_as, ins or {}, options)

        def compute(context):  # unannotated: see the module docstring
            with manager_of(context.resources, io_manager_key, _label(context)).in_instance():
                run = _run(context, step, io_manager_key)
                items = _items(run.outcome, run.runner, names, _label(context))
                keys = context.assets_def.keys_by_output_name
                results = [_result(run, keys[out], items[out]) for out in names]
            yield from results

        return dg.multi_asset(outs=dict(outs), name=name, **_definition(step, kwargs))(
            _named(compute, name, step)
        )

    return define if fn is None else define(fn)


def _options(kwargs: dict[str, Any]) -> StepOptions:
    """skipwise's options among a decorator's keyword arguments (removed from them)."""
    options = StepOptions.take(kwargs, leave=("name",))
    if options.store is not None:
        raise dg.DagsterInvalidDefinitionError(
            "skipwise.dagster assets keep results in their IO manager's store: set the store on "
            "the SkipwiseIOManager, not on the asset"
        )
    clash = [k for k in _OWNED if k in kwargs]
    if clash:
        raise dg.DagsterInvalidDefinitionError(f"skipwise.dagster assets set {clash} themselves")
    return options


def _definition(step: AssetStep, kwargs: dict[str, Any]) -> dict[str, Any]:
    """What ``dagster.asset`` and ``dagster.multi_asset`` are told about the step, with the
    user's other arguments."""
    return {
        "deps": [*step.upstream.values(), *kwargs.pop("deps", ())],
        "code_version": step.code_version(),
        "config_schema": step.config_schema() or None,
        "description": kwargs.pop("description", None) or inspect.getdoc(step.fn),
        **kwargs,
    }


def _named(compute: Callable[..., Any], name: str, step: AssetStep) -> Callable[..., Any]:
    compute.__name__ = name
    setattr(compute, STEP, step)  # how skipwise plan finds the step (discover.py)
    return compute


def _manager_key(out: dg.AssetOut) -> str:
    return out.io_manager_key or "io_manager"  # Dagster's default


def _asset_names(context: dg.AssetExecutionContext) -> list[str]:
    """The asset keys a step materializes (for force patterns)."""
    return sorted(key.to_user_string() for key in context.assets_def.keys)


def _label(context: dg.AssetExecutionContext) -> str:
    return ", ".join(_asset_names(context))


class Run(NamedTuple):
    """A step as run: what it did, the step (its store and result name), and the tree of
    the result it replaced (None on a hit and on a first run)."""

    outcome: Outcome[Any]
    runner: Step[Any]
    replaced: SignatureTree | None


def _run(context: dg.AssetExecutionContext, step: AssetStep, io_manager_key: str) -> Run:
    """Sign, resolve and complete the step. A hit reads nothing but the manifest: Dagster records it by its signature,
    and the value is loaded only by a downstream step that runs."""
    label = _label(context)
    store = manager_of(context.resources, io_manager_key, label).open_store()
    partition = _partition(context, label)
    kwargs = step.arguments(
        _upstream(context, step, store), context.op_execution_context.op_config or {}, context
    )
    _, kwargs = step.step.derive((), kwargs)
    tree = step.tree(kwargs, partition, store)
    runner = step.runner(lineage.partition_name(step.name, partition), store)
    producer = {"dagster_run": context.run.run_id, "asset": label}
    force = force_requested(
        context.run.tags.get(FORCE_TAG),
        f"run tag {FORCE_TAG!r}",
        *_asset_names(context),
        runner.name,
    )
    decision = runner.resolve(tree, force=force)
    # The tree this run replaces, for the source diff of what changed (read on a miss only).
    replaced = latest_tree(store, runner.name) if decision.changes else None
    outcome = runner.complete(
        decision, lambda: runner.call((), kwargs), load=False, producer=producer
    )
    context.log.info(f"skipwise: {outcome.status} {tree.signature[:12]}: {outcome.reason}")
    return Run(outcome, runner, replaced)


def _result(
    run: Run, key: dg.AssetKey | None = None, item: str | int | None = None
) -> dg.MaterializeResult:
    """One asset's materialization: of the whole result, or of its ``item``."""
    outcome = run.outcome
    metadata = outcome_metadata(outcome, run.runner.store().url, run.replaced)
    if item is not None:
        metadata[lineage.ITEM] = (
            dg.MetadataValue.text(item) if isinstance(item, str) else dg.MetadataValue.int(item)
        )
    return dg.MaterializeResult(
        asset_key=key,
        data_version=dg.DataVersion(outcome.signature),
        metadata=metadata,
        tags={"skipwise/status": outcome.status.value},
    )


def _items(
    outcome: Outcome[Any], runner: Step[Any], names: Sequence[str], label: str
) -> dict[str, str | int]:
    """Each output's part of the result: the element at the output's place in a tuple, or a
    dict's entry of the output's name. A result of another shape fails the step (it stays
    stored), on a hit as on a miss."""
    keys = runner.result_keys(outcome)
    if keys == list(range(len(names))):
        return {name: index for index, name in enumerate(names)}
    if keys is not None and set(names) <= set(keys):
        return {name: name for name in names}
    raise dg.Failure(
        f"{label}: the result must be a tuple of {len(names)} or a dict with keys {list(names)}"
        f" (one per output); result {outcome.signature[:12]} of {runner.name} is not"
        " (it is stored)"
    )


def _partition(context: dg.AssetExecutionContext, label: str) -> str | None:
    partitioned = context.has_partition_key or context.has_partition_key_range
    return lineage.one_partition(label, context.partition_keys if partitioned else [])


def _upstream(context: dg.AssetExecutionContext, step: AssetStep, store: Store) -> UpstreamResults:
    """Upstream results from the instance: single, or per upstream partition."""
    input_names = {key: name for name, key in context.assets_def.keys_by_input_name.items()}
    graph = context.job_def.asset_layer.asset_graph
    results: dict[str, Any] = {}
    for param, key in step.upstream.items():
        if graph.get(key).partitions_def is None:
            results[param] = lineage.required_result(context.instance, key, store)
            continue
        parts = context.asset_partition_keys_for_input(input_names[key])
        by_part = {p: lineage.required_result(context.instance, key, store, p) for p in parts}
        single = context.has_partition_key and len(by_part) == 1
        results[param] = next(iter(by_part.values())) if single else by_part
    return results
