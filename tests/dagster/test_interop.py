"""One store, two front ends: the taxi pipeline in plain Python (dags/taxi/pipeline.py) and
as Dagster assets (dags/taxi_dagster.py) reuse each other's results."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

import skipwise.dagster as sd
from tests.dagster.conftest import latest, status

DAGS = Path(__file__).resolve().parents[2] / "dags"
N_TRIPS = 2_000
STEPS = ["trips", "cleaned", "fare_features", "time_features", "model", "metrics"]


@pytest.fixture
def taxi(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.syspath_prepend(str(DAGS))
    import taxi_dagster

    from taxi import pipeline

    return pipeline, taxi_dagster


def materialize(taxi_dagster, instance, store: Path) -> None:
    result = dg.materialize(
        taxi_dagster.assets,
        instance=instance,
        resources={"io_manager": sd.SkipwiseIOManager(store=str(store))},
        run_config={"ops": {"taxi__trips": {"config": {"n_trips": N_TRIPS}}}},
    )
    assert result.success


def test_dagster_reuses_what_plain_python_computed(taxi, instance, isolated_store) -> None:
    pipeline, taxi_dagster = taxi
    assert {s["status"] for s in pipeline.run(N_TRIPS)} == {"computed"}
    materialize(taxi_dagster, instance, isolated_store)
    assert [status(instance, f"taxi/{step}") for step in STEPS] == ["reused"] * len(STEPS)
    store = sd.SkipwiseIOManager(store=str(isolated_store)).open_store()
    for step in STEPS:  # same names, same signatures
        data_version = latest(instance, f"taxi/{step}").tags["dagster/data_version"]
        assert store.pointer(f"taxi.{step}").signature == data_version


def test_plain_python_reuses_what_dagster_computed(taxi, instance, isolated_store) -> None:
    pipeline, taxi_dagster = taxi
    materialize(taxi_dagster, instance, isolated_store)
    assert [status(instance, f"taxi/{step}") for step in STEPS] == ["computed"] * len(STEPS)
    report = pipeline.run(N_TRIPS)
    assert [s["status"] for s in report] == ["reused"] * len(STEPS)
