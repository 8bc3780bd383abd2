"""One store, three front ends: the taxi pipeline as plain Python (dags/taxi/pipeline.py), as an
Airflow DAG (dags/taxi_airflow.py, real ``dag.test()`` runs) and as Dagster assets
(dags/taxi_dagster.py) sign every step the same way, so each reuses what the others computed.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import dagster as dg
import pytest

import skipwise.dagster as sd
from tests.airflow.conftest import ROOT, Project, Run, forget_project_modules, run_dag, taxi
from tests.dagster.conftest import dagster_home, instance, latest, status

__all__ = ["dagster_home", "instance", "taxi"]  # fixtures used here

N_TRIPS = 2_000
STEPS = ["trips", "cleaned", "fare_features", "time_features", "model", "metrics"]


def airflow_run(taxi: Project) -> Run:
    run = run_dag(taxi.dag("taxi_airflow"), run_conf={"n_trips": N_TRIPS})
    assert run.state == "success"
    return run


def plain_run() -> list[str]:
    from taxi import pipeline

    return [step["status"] for step in pipeline.run(N_TRIPS)]


def dagster_run(instance: dg.DagsterInstance, store: Path) -> list[str]:
    """Materialize the taxi assets with the pipeline code currently imported."""
    spec = importlib.util.spec_from_file_location("taxi_dagster", ROOT / "dags" / "taxi_dagster.py")
    assets = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(assets)
    assert dg.materialize(
        assets.assets,
        instance=instance,
        resources={"io_manager": sd.SkipwiseIOManager(store=str(store))},
        run_config={"ops": {"taxi__trips": {"config": {"n_trips": N_TRIPS}}}},
    ).success
    return [status(instance, f"taxi/{step}") for step in STEPS]


def test_airflow_results_are_reused_by_plain_python_and_dagster(
    taxi: Project, instance: dg.DagsterInstance, isolated_store: Path
) -> None:
    airflow = airflow_run(taxi)
    assert [airflow.status(step) for step in STEPS] == ["computed"] * len(STEPS)
    assert plain_run() == ["reused"] * len(STEPS)
    assert dagster_run(instance, isolated_store) == ["reused"] * len(STEPS)
    versions = [latest(instance, f"taxi/{s}").tags["dagster/data_version"] for s in STEPS]
    assert versions == [airflow.signature(step) for step in STEPS]


def test_airflow_reuses_what_plain_python_and_dagster_computed(
    taxi: Project,
    instance: dg.DagsterInstance,
    isolated_store: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert plain_run() == ["computed"] * len(STEPS)
    assert [airflow_run(taxi).status(step) for step in STEPS] == ["reused"] * len(STEPS)

    taxi.edit("taxi/helpers.py", "MORNING_RUSH = (7, 10)", "MORNING_RUSH = (6, 10)")
    forget_project_modules()
    monkeypatch.delitem(sys.modules, "taxi_dagster", raising=False)
    edited = dagster_run(instance, isolated_store)
    assert edited == ["reused"] * 3 + ["computed"] * 3  # time_features and its dependants
    airflow = airflow_run(taxi)
    assert [airflow.status(step) for step in STEPS] == ["reused"] * len(STEPS)
