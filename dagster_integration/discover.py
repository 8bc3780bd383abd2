"""Dagster definitions for ``skipwise plan``: the assets of a module as plan targets.

A definitions file is planned like a DAG file: importing it runs no asset body. The assets
are those of its ``Definitions``, of its lists of assets, and its asset variables; upstream
edges come from Dagster's asset graph. A skipwise asset is planned by its step's code graph
under its result name (shared with plain Python and Airflow); a plain ``@dg.asset`` is drawn
as not managed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import dagster as dg

from skipwise.dagster.step import AssetStep
from skipwise.host import Target, register_discoverer

# The attribute of a skipwise asset's compute function that holds its AssetStep.
STEP = "skipwise_step"


def asset_targets_in(module: ModuleType) -> list[Target]:
    """One target per result found in ``module``, labelled with its asset keys (several for
    the outputs of one multi-asset)."""
    assets = _assets_in(module)
    return asset_targets(assets) if assets else []


# A target's name for an asset key (and its step; None for a plain asset). The default is the
# step's result name; the asset checks name the partition they compare with (checks.py).
TargetName = Callable[[dg.AssetKey, AssetStep | None], str]


def asset_targets(
    assets: Sequence[dg.AssetsDefinition], name: TargetName | None = None
) -> list[Target]:
    """One plan target per result of ``assets``, with upstream edges from their asset graph
    (edges to assets outside ``assets`` are left out)."""
    graph = dg.Definitions(assets=assets).resolve_asset_graph()
    steps = {key: step_of(assets_def) for assets_def in assets for key in assets_def.keys}
    names = {key: (name or target_name)(key, step) for key, step in steps.items()}
    keys_of: dict[str, list[dg.AssetKey]] = {}
    for key, result in names.items():
        keys_of.setdefault(result, []).append(key)
    targets = []
    for result, keys in keys_of.items():
        step = steps[keys[0]]
        parents = {parent for key in keys for parent in graph.get(key).parent_keys}
        ordered = sorted(parents, key=lambda k: k.to_user_string())
        upstream = tuple(dict.fromkeys(names[p] for p in ordered if p in names))
        code = step.step.code if step is not None else None
        fresh = step.step.fresh_facts if step is not None else None
        label = ", ".join(k.to_user_string() for k in keys)
        targets.append(Target(result, code, upstream, label, fresh=fresh))
    return targets


def _assets_in(module: ModuleType) -> list[dg.AssetsDefinition]:
    """Executable asset definitions in module variables, ``Definitions`` and lists, once."""
    found: dict[int, dg.AssetsDefinition] = {}
    keys: set[dg.AssetKey] = set()
    for value in vars(module).values():
        for item in _items(value):
            if is_asset(item):
                if not keys & set(item.keys):
                    found[id(item)] = item
                keys |= set(item.keys)
    return list(found.values())


def is_asset(value: object) -> bool:
    """An executable asset definition (not an asset check, which Dagster derives from it)."""
    return (
        isinstance(value, dg.AssetsDefinition)
        and not isinstance(value, dg.AssetChecksDefinition)
        and value.is_executable
    )


def _items(value: Any) -> list[Any]:
    if isinstance(value, dg.Definitions):
        return list(value.assets or ())
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def step_of(assets_def: dg.AssetsDefinition) -> AssetStep | None:
    """The AssetStep of an asset made by :func:`skipwise.dagster.asset`, else None."""
    compute = getattr(assets_def.op.compute_fn, "decorated_fn", None)
    step = getattr(compute, STEP, None)
    return step if isinstance(step, AssetStep) else None


def target_name(key: dg.AssetKey, step: AssetStep | None) -> str:
    """A skipwise asset's result name; a plain asset's key, marked so (never a result name)."""
    if step is None:
        return f"dagster:{key.to_user_string()}"  # ':' is not allowed in result names
    return step.name


register_discoverer(asset_targets_in)
