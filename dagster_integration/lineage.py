"""Where a Dagster asset's skipwise signature lives, and the store name of its results.

Every materialization skipwise records carries the signature in its metadata (for assets made
with :func:`skipwise.dagster.asset` it is also the data version), and for one output of a
:func:`skipwise.dagster.multi_asset` its item (a key or index of the stored result). Downstream
steps read them from the instance: that is how upstream signatures chain without loading any
data.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import dagster as dg

from skipwise.host import Ref, Store, instance_name

SIGNATURE = "skipwise/signature"
ITEM = "skipwise/item"
INSTANCE = "skipwise/instance"  # the pipeline instance ("" for the unnamed one)
# Materializations read per request while looking for the latest one of an instance.
_PAGE = 100
_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]+")


def latest_result(
    instance: dg.DagsterInstance, key: dg.AssetKey, store: Store, partition: str | None = None
) -> Ref | None:
    """The result of the latest materialization of ``key`` (one partition) in the current
    pipeline instance, if skipwise recorded one: a run of ``mini`` never reads ``full``'s."""
    materialization = _latest_in_instance(instance, key, partition)
    if materialization is None:
        return None
    if partition is None and materialization.partition is not None:
        # Never stand one partition's result in for the whole asset.
        raise dg.Failure(
            f"upstream {key.to_user_string()} is partitioned, but this job does not know its "
            "partitions: include its definition in the job (materialize(..., selection=...))"
        )
    entry, item = materialization.metadata.get(SIGNATURE), materialization.metadata.get(ITEM)
    if entry is None:
        return None
    return Ref(str(entry.value), store, None if item is None else item.value)


def _latest_in_instance(
    instance: dg.DagsterInstance, key: dg.AssetKey, partition: str | None
) -> dg.AssetMaterialization | None:
    """The latest materialization of ``key`` whose pipeline instance is the current one
    (those without one were made in the unnamed instance)."""
    wanted = instance_name()
    records_filter = dg.AssetRecordsFilter(
        key, asset_partitions=None if partition is None else [partition]
    )
    cursor, limit = None, 1  # the latest is usually the one: read more only if it is not
    while True:
        page = instance.fetch_materializations(records_filter, limit=limit, cursor=cursor)
        for record in page.records:
            materialization = record.asset_materialization
            made_in = materialization.metadata.get(INSTANCE) if materialization else None
            if materialization and (made_in.value if made_in else "") == wanted:
                return materialization
        if not page.has_more:
            return None
        cursor, limit = page.cursor, _PAGE


def latest_partition(instance: dg.DagsterInstance, key: dg.AssetKey) -> str | None:
    """The partition of the latest materialization of ``key`` in the current pipeline
    instance (None: unpartitioned, or never materialized)."""
    latest = _latest_in_instance(instance, key, None)
    return latest.partition if latest is not None else None


def required_result(
    instance: dg.DagsterInstance, key: dg.AssetKey, store: Store, partition: str | None = None
) -> Ref:
    result = latest_result(instance, key, store, partition)
    if result is None:
        where = "" if partition is None else f" partition {partition!r}"
        raise dg.Failure(
            f"upstream {key.to_user_string()}{where} has no skipwise signature: materialize it "
            "first, with skipwise.dagster.asset or through a SkipwiseIOManager"
        )
    return result


def result_name(key: dg.AssetKey) -> str:
    """The store name results of ``key`` are kept under: ``taxi/trips`` -> ``taxi.trips``."""
    return ".".join(_UNSAFE.sub("_", part) for part in key.path).strip(".-") or "asset"


def partition_name(name: str, partition: str | None) -> str:
    """One store name per partition (``daily.trips/2024-01-01``), so a partition's reason
    compares it with that partition's previous result."""
    if partition is None:
        return name
    return f"{name}/{_UNSAFE.sub('_', partition).lstrip('.-') or '_'}"


def one_partition(label: str, partitions: Sequence[str]) -> str | None:
    """The partition a run of ``label`` (its asset keys) signs: none, or exactly one (the
    multi-run backfill policy)."""
    if len(partitions) > 1:
        raise dg.DagsterInvariantViolationError(
            f"{label}: skipwise signs one partition per run, got a range of "
            f"{len(partitions)}; use the default multi-run backfill policy"
        )
    return partitions[0] if partitions else None
