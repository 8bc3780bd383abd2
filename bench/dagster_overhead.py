"""(d) Dagster: an all-hit materialization of the taxi assets vs plain assets with trivial bodies.

Both are the same six assets with the same dependencies, materialized in this process on one
persistent DagsterInstance (sqlite, in a temporary DAGSTER_HOME). The skipwise run only hits:
each asset reads its upstream signatures from the instance, finds its own in the store and
records a materialization with the signature as data version, without running its body or
loading anything. The baseline bodies return at once. Target: skipwise <= 1.2x.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dags"))

import dagster as dg
import taxi_dagster
from _common import report

import skipwise.dagster as sd

ROUNDS = 9


def trivial_assets() -> list[dg.AssetsDefinition]:
    """The taxi graph with bodies that do nothing (same keys, same dependencies)."""
    return [
        dg.asset(key=a.key, deps=list(a.asset_deps[a.key]))(lambda: dg.MaterializeResult())
        for a in taxi_dagster.assets
    ]


def interleaved_best(a: Callable[[], None], b: Callable[[], None]) -> tuple[float, float]:
    """Best wall time of each, alternating them so machine load falls on both alike."""
    best = [float("inf"), float("inf")]
    for _ in range(ROUNDS):
        for i, fn in enumerate((a, b)):
            started = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - started)
    return best[0], best[1]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "dagster_home"
        home.mkdir()
        (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        instance = dg.DagsterInstance.from_config(str(home))
        resources = {"io_manager": sd.SkipwiseIOManager(store=str(Path(tmp) / "store"))}
        baseline = trivial_assets()

        def ours() -> None:
            assert dg.materialize(
                taxi_dagster.assets, instance=instance, resources=resources
            ).success

        def theirs() -> None:
            assert dg.materialize(baseline, instance=instance).success

        ours()  # cold: computes and stores the example (default config: 200,000 trips)
        ours()
        statuses = {
            a.key: instance.get_latest_materialization_event(a.key)
            .asset_materialization.metadata["skipwise/status"]
            .value
            for a in taxi_dagster.assets
        }
        assert set(statuses.values()) == {"reused"}, statuses
        theirs()
        ours_t, baseline_t = interleaved_best(ours, theirs)
    report(
        "all-hit taxi materialization, skipwise vs trivial Dagster assets", ours_t, baseline_t, 1.2
    )


if __name__ == "__main__":
    main()
