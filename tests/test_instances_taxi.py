"""The example taxi pipeline's ``mini`` instance (dags/taxi/__init__.py) across the three front
ends on one store: Airflow computes mini with fewer trips, plain Python and Dagster in mini
reuse every result, and none of it touches the unnamed instance's pointers."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import dagster as dg

import skipwise.dagster as sd
from skipwise import config
from tests.airflow.conftest import ROOT, Project, run_dag, taxi
from tests.dagster.conftest import dagster_home, instance, latest, status
from tests.test_cross_orchestrator import N_TRIPS, STEPS

__all__ = ["dagster_home", "instance", "taxi"]  # fixtures used here


def test_mini_is_derived_once_and_shared_by_every_front_end(
    taxi: Project, instance: dg.DagsterInstance, isolated_store: Path
) -> None:
    mini_conf = {"n_trips": N_TRIPS, "skipwise_instance": "mini"}
    airflow = run_dag(taxi.dag("taxi_airflow"), run_conf=mini_conf)
    assert airflow.state == "success"
    assert [airflow.status(step) for step in STEPS] == ["computed"] * len(STEPS)
    store = config.current_store()
    trips = store.load(store.manifest(airflow.signature("trips")))
    assert len(trips) == 500  # derived: min(N_TRIPS, 500)

    config.configure(instance="mini")
    from taxi import pipeline

    assert [step["status"] for step in pipeline.run(N_TRIPS)] == ["reused"] * len(STEPS)

    config.configure(instance="")  # Dagster's instance comes from its resource config
    dg_run = dagster_run_in(instance, isolated_store, "mini")
    assert dg_run == ["reused"] * len(STEPS)
    versions = [latest(instance, f"taxi/{s}").tags["dagster/data_version"] for s in STEPS]
    assert versions == [airflow.signature(step) for step in STEPS]

    for step in STEPS:
        assert store.pointer(f"taxi.{step}", "mini").signature == airflow.signature(step)
        assert store.pointer(f"taxi.{step}") is None  # the unnamed instance never ran


def dagster_run_in(instance: dg.DagsterInstance, store: Path, pipeline_instance: str) -> list[str]:
    """``tests.test_cross_orchestrator.dagster_run``, in a pipeline instance."""
    spec = importlib.util.spec_from_file_location("taxi_dagster", ROOT / "dags" / "taxi_dagster.py")
    assets = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(assets)
    assert dg.materialize(
        assets.assets,
        instance=instance,
        resources={"io_manager": sd.SkipwiseIOManager(store=str(store))},
        run_config={
            "ops": {"taxi__trips": {"config": {"n_trips": N_TRIPS}}},
            "resources": {"io_manager": {"config": {"pipeline_instance": pipeline_instance}}},
        },
    ).success
    return [status(instance, f"taxi/{step}") for step in STEPS]
