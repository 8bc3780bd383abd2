"""``skipwise.dagster.checks``: skipwise's prediction as Dagster asset checks.

Dagster marks an asset "Unsynced" when its own code version changed, one hop deep; a skipwise
asset downstream of an edited helper's asset shows nothing, yet it will rerun. The check
``skipwise_up_to_date`` of each skipwise asset says what the next materialization does: it
passes when the stored result will be reused, and fails (severity WARN: nothing is wrong
with the data, it is outdated) with the plan's reason when the body will run.

All checks are one op that runs core's plan (``skipwise plan``'s, shared through
``skipwise.host``) over the assets given: no asset body runs and no data is read, only
manifests and trees. It compares the code now loaded with the tree stored under each asset's
result name and propagates reruns along the asset graph.

No ``from __future__ import annotations`` here: Dagster inspects the check function's
parameters at definition time.
"""

from collections.abc import Sequence

import dagster as dg

from skipwise.dagster import lineage
from skipwise.dagster.discover import asset_targets, is_asset, step_of, target_name
from skipwise.dagster.io_manager import manager_of
from skipwise.dagster.report import explanation_metadata
from skipwise.dagster.step import AssetStep
from skipwise.host import CodeGraph, Explanation, Store, explain, make_plan

CHECK = "skipwise_up_to_date"


def checks(
    assets: Sequence[dg.AssetsDefinition],
    *,
    io_manager_key: str = "io_manager",
    name: str = "skipwise_up_to_date",
) -> dg.AssetChecksDefinition:
    """The check ``skipwise_up_to_date`` for every skipwise asset in ``assets``, evaluated
    together without running any asset body: pass them to ``Definitions(asset_checks=...)``.

    ``assets`` are the definitions the plan follows (plain assets among them are upstream
    edges, not checked); the skipwise ones must keep their results in the
    ``SkipwiseIOManager`` under ``io_manager_key``, whose store the checks read. ``name`` is
    the op's name.
    """
    assets = [a for a in assets if is_asset(a)]
    keys = [key for a in assets if step_of(a) is not None for key in a.keys]
    elsewhere = sorted(
        key.to_user_string()
        for a in assets
        if step_of(a) is not None
        for key in a.keys
        if a.get_io_manager_key_for_asset_key(key) != io_manager_key
    )
    if not keys or elsewhere:
        raise dg.DagsterInvalidDefinitionError(
            "skipwise.dagster.checks needs skipwise assets whose io_manager_key is "
            f"{io_manager_key!r} (the store the checks read); "
            + (f"these are not: {elsewhere}" if elsewhere else "none given")
        )
    specs = [
        dg.AssetCheckSpec(
            CHECK,
            asset=key,
            description="skipwise: the next materialization reuses the stored result "
            "(fails with the reason when the body will run)",
        )
        for key in keys
    ]

    @dg.multi_asset_check(
        specs=specs,
        name=name,
        can_subset=True,
        required_resource_keys={io_manager_key},
    )
    def up_to_date(context):  # unannotated: see the module docstring
        manager = manager_of(context.resources, io_manager_key, name)
        with manager.in_instance():  # the pointers and materializations of its instance
            yield from _check(context, manager.open_store())

    def _check(context, store: Store):
        instance = context.instance

        def stored_as(key: dg.AssetKey, step: AssetStep | None) -> str:
            """A partitioned asset compares with its latest materialized partition: the code
            is the same for all, and plan compares code."""
            whole = target_name(key, step)
            if step is None:
                return whole
            return lineage.partition_name(whole, lineage.latest_partition(instance, key))

        names = {key: stored_as(key, step_of(a)) for a in assets for key in a.keys}
        targets = {target.name: target for target in asset_targets(assets, stored_as)}
        plan = make_plan(targets.values(), store, name)

        def code_now(target_name: str) -> CodeGraph | None:
            code = targets[target_name].code
            return code() if code is not None else None

        for check_key in sorted(context.selected_asset_check_keys, key=str):
            item = plan.item(names[check_key.asset_key])
            assert item is not None, check_key  # every key is a target of the plan
            yield _result(check_key.asset_key, explain(plan, item, store, code_now), store)

    return up_to_date


def _result(key: dg.AssetKey, found: Explanation, store: Store) -> dg.AssetCheckResult:
    """Fails when the body will run, saying why; the metadata adds the source diff and the
    stored tree coloured as the plan says."""
    item = found.item
    runs = item.status.runs
    return dg.AssetCheckResult(
        passed=not runs,
        asset_key=key,
        check_name=CHECK,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"{item.status.style.legend}: {item.cause}" if runs else "reuse: unchanged",
        metadata=explanation_metadata(found, store.url),
    )
