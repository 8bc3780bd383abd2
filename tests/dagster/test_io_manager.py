"""SkipwiseIOManager with plain Dagster assets: stored by content, loaded by signature."""

from __future__ import annotations

import dagster as dg
import pandas as pd

import skipwise.dagster as sd
from tests.dagster.conftest import latest, status

SOURCE = {"values": [1.0, 2.0, 3.0]}  # what the plain asset reads: its "external data"
CALLS: list[str] = []


@dg.asset
def frame() -> pd.DataFrame:
    return pd.DataFrame({"x": SOURCE["values"]})


@dg.asset
def doubled(frame: pd.DataFrame) -> pd.DataFrame:
    return frame * 2


def total(frame: pd.DataFrame) -> float:
    CALLS.append("total")
    return float(frame["x"].sum())


total_asset = sd.asset(total)


def test_plain_outputs_are_stored_by_content(instance, io_manager) -> None:
    CALLS.clear()
    assets = [frame, doubled, total_asset]
    resources = {"io_manager": io_manager}
    assert dg.materialize(assets, instance=instance, resources=resources).success
    store = io_manager.open_store()
    signature = latest(instance, "frame").metadata["skipwise/signature"].value
    manifest = store.manifest(signature)
    assert manifest.codec == "pandas" and manifest.data.endswith(".parquet")
    assert status(instance, "frame") == "computed"
    doubled_signature = latest(instance, "doubled").metadata["skipwise/signature"].value
    loaded = store.load(store.manifest(doubled_signature))
    pd.testing.assert_frame_equal(loaded, pd.DataFrame({"x": [2.0, 4.0, 6.0]}))
    assert CALLS == ["total"]

    # The plain body runs again with the same data: same signature, downstream reused.
    assert dg.materialize(assets, instance=instance, resources=resources).success
    assert status(instance, "frame") == "reused"
    assert latest(instance, "frame").metadata["skipwise/signature"].value == signature
    assert status(instance, "total") == "reused"
    assert CALLS == ["total"]

    # New data: a new signature, and the skipwise asset downstream reruns on it.
    SOURCE["values"] = [1.0, 2.0, 4.0]
    try:
        assert dg.materialize(assets, instance=instance, resources=resources).success
    finally:
        SOURCE["values"] = [1.0, 2.0, 3.0]
    assert latest(instance, "frame").metadata["skipwise/signature"].value != signature
    assert status(instance, "total") == "computed"
    assert CALLS == ["total", "total"]
    assert store.pointer("frame").signature != signature  # one name per asset


days = dg.StaticPartitionsDefinition(["a", "b"])


@dg.asset(partitions_def=days)
def daily(context) -> list[str]:
    return [context.partition_key] * 2


@dg.asset(partitions_def=days)
def daily_upper(daily: list[str]) -> list[str]:
    return [v.upper() for v in daily]


@dg.asset
def every_day(daily: dict[str, list[str]]) -> dict[str, int]:
    return {day: len(values) for day, values in daily.items()}


def test_partitions_are_stored_and_loaded_per_partition(instance, io_manager) -> None:
    resources = {"io_manager": io_manager}
    assets = [daily, daily_upper, every_day]
    for partition in ("a", "b"):
        result = dg.materialize(
            assets, instance=instance, resources=resources, partition_key=partition,
            selection=[daily, daily_upper],
        )  # fmt: skip
        assert result.success
    store = io_manager.open_store()
    assert store.pointer("daily_upper/b") is not None and store.pointer("daily_upper") is None
    upper_b = latest(instance, "daily_upper", "b").metadata["skipwise/signature"].value
    assert store.load(store.manifest(upper_b)) == ["B", "B"]
    result = dg.materialize(assets, instance=instance, resources=resources, selection=[every_day])
    assert result.success
    signature = latest(instance, "every_day").metadata["skipwise/signature"].value
    assert store.load(store.manifest(signature)) == {"a": 2, "b": 2}
