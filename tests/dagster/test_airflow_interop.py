"""One store, Airflow and Dagster: the taxi DAG (dags/taxi_airflow.py) and the taxi assets
(dags/taxi_dagster.py) reuse each other's results. Airflow runs in its own processes
(``airflow db migrate``, then ``dag.test()``) on a DAG folder holding only the taxi DAG."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

import skipwise.dagster as sd
from tests.dagster.conftest import latest, status

DAGS = Path(__file__).resolve().parents[2] / "dags"
N_TRIPS = 2_000
STEPS = ["trips", "cleaned", "fare_features", "time_features", "model", "metrics"]
RUN_DAG = f"""
from airflow.models.dagbag import DagBag
run = DagBag().get_dag("taxi").test(run_conf={{"n_trips": {N_TRIPS}}})
assert run.state == "success", run.state
"""


@pytest.fixture
def airflow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A function running the taxi DAG once on a given store."""
    folder = tmp_path / "airflow_dags"
    shutil.copytree(DAGS / "taxi", folder / "taxi", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(DAGS / "taxi_airflow.py", folder)
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path / "airflow_home"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(folder),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "PYTHONPATH": str(folder),
    }
    airflow_cli = Path(sys.executable).parent / "airflow"
    subprocess.run([airflow_cli, "db", "migrate"], env=env, check=True, capture_output=True)
    monkeypatch.syspath_prepend(str(DAGS))

    def run_dag(store: Path) -> None:
        result = subprocess.run(
            [sys.executable, "-c", RUN_DAG],
            env={**env, "SKIPWISE_STORE": str(store)},
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    return run_dag


def materialize(instance: dg.DagsterInstance, store: Path) -> None:
    import taxi_dagster

    assert dg.materialize(
        taxi_dagster.assets,
        instance=instance,
        resources={"io_manager": sd.SkipwiseIOManager(store=str(store))},
        run_config={"ops": {"taxi__trips": {"config": {"n_trips": N_TRIPS}}}},
    ).success


def entries(store: Path) -> set[str]:
    return {m.signature for m in sd.SkipwiseIOManager(store=str(store)).open_store().manifests()}


def test_airflow_and_dagster_reuse_each_other(airflow, tmp_path: Path, dagster_home: Path):
    # Airflow computes, Dagster reuses all.
    first = tmp_path / "store-airflow-first"
    airflow(first)
    computed = entries(first)
    assert len(computed) == len(STEPS)
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        materialize(instance, first)
        assert [status(instance, f"taxi/{s}") for s in STEPS] == ["reused"] * len(STEPS)
        assert {latest(instance, f"taxi/{s}").tags["dagster/data_version"] for s in STEPS} == (
            computed
        )

    # Dagster computes, Airflow reuses all: it writes no entry and moves no pointer.
    second = tmp_path / "store-dagster-first"
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        materialize(instance, second)
        assert [status(instance, f"taxi/{s}") for s in STEPS] == ["computed"] * len(STEPS)
    store = sd.SkipwiseIOManager(store=str(second)).open_store()
    before = {s: store.pointer(f"taxi.{s}") for s in STEPS}
    airflow(second)
    assert entries(second) == computed  # the same six signatures, none new
    assert {s: store.pointer(f"taxi.{s}") for s in STEPS} == before
