"""(e) Airflow: the cost of a reused skipwise task vs a PythonOperator that does nothing.

DAGs of the same shape run in turn with ``dag.test()`` in one process, on a temporary
AIRFLOW_HOME with SQLite: the taxi DAG (dags/taxi_airflow.py, default 200,000 trips, every task
a hit: it receives its upstream references, signs the call, reads one manifest and pushes a
reference), the same DAG with plain tasks whose callable does nothing (same params, same XCom
wiring: the target's baseline), and bare PythonOperators ordered by ``>>`` only (no XCom, no
params: for reference). A task's cost is its task instance's duration (what Airflow spent
running it); a round's figure is the mean over the six tasks, best of ROUNDS.
Target: skipwise <= 1.2x the wired no-op tasks.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
DAGS_SOURCE = HERE.parent / "dags"
HOME = Path(tempfile.mkdtemp(prefix="skipwise-bench-airflow-"))
DAGS = HOME / "dags"
ROUNDS = 9
BASELINES = """
import pendulum
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, dag, task

TASKS = ("trips", "cleaned", "fare_features", "time_features", "model", "metrics")


def nothing(*upstream, n_trips=None):
    return 0


@dag(
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    params={"n_trips": 200_000},
    render_template_as_native_obj=True,
)
def wired():  # taxi_airflow.py's DAG, with plain tasks that do nothing
    def step(task_id):
        return task(nothing, task_id=task_id)

    trips = step("trips")(n_trips="{{ params.n_trips }}")
    cleaned = step("cleaned")(trips)
    fares = step("fare_features")(cleaned)
    times = step("time_features")(cleaned)
    model = step("model")(fares, times)
    step("metrics")(model, fares, times)


wired = wired()

with DAG("bare", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")) as bare:
    t = {name: PythonOperator(task_id=name, python_callable=nothing) for name in TASKS}
    t["trips"] >> t["cleaned"] >> [t["fare_features"], t["time_features"]] >> t["model"]
    [t["model"], t["fare_features"], t["time_features"]] >> t["metrics"]
"""

os.environ.update(
    {
        "AIRFLOW_HOME": str(HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{HOME}/airflow.db",
        "SKIPWISE_STORE": str(HOME / "store"),
    }
)
sys.path.insert(0, str(HERE))

from _common import report  # noqa: E402


def prepare() -> None:
    shutil.copytree(
        DAGS_SOURCE / "taxi", DAGS / "taxi", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(DAGS_SOURCE / "taxi_airflow.py", DAGS)
    (DAGS / "baselines.py").write_text(textwrap.dedent(BASELINES).lstrip())
    sys.path.insert(0, str(DAGS))  # as Airflow has it
    airflow = Path(sys.executable).parent / "airflow"
    subprocess.run([airflow, "db", "migrate"], check=True, capture_output=True)


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, DAGS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def task_seconds(dag) -> tuple[float, set[str]]:
    """Run ``dag`` once: the mean task duration, and the skipwise statuses seen."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    run = dag.test()
    assert run.state == "success", run.state
    with create_session() as session:
        durations = session.scalars(
            select(TaskInstance.duration).where(
                TaskInstance.dag_id == dag.dag_id, TaskInstance.run_id == run.run_id
            )
        ).all()
        values = session.scalars(
            select(XComModel).where(
                XComModel.dag_id == dag.dag_id,
                XComModel.run_id == run.run_id,
                XComModel.key == "return_value",
            )
        )
        references = [XComModel.deserialize_value(v) for v in values]
        statuses = {r["status"] for r in references if isinstance(r, dict)}
    assert len(durations) == 6, durations
    return sum(durations) / len(durations), statuses


def main() -> None:
    try:
        prepare()
        baselines = load("baselines")
        dags = {"skipwise": load("taxi_airflow").taxi, "wired": baselines.wired}
        dags["bare"] = baselines.bare
        for dag in dags.values():  # the taxi DAG computes and stores the example
            task_seconds(dag)
        best = dict.fromkeys(dags, float("inf"))
        for _ in range(ROUNDS):  # in turn, so machine load falls on all alike
            for name, dag in dags.items():
                seconds, statuses = task_seconds(dag)
                assert name != "skipwise" or statuses == {"reused"}, statuses
                best[name] = min(best[name], seconds)
    finally:
        shutil.rmtree(HOME, ignore_errors=True)
    report(
        "per task, reused skipwise task vs wired no-op task", best["skipwise"], best["wired"], 1.2
    )
    report(
        "per task, reused skipwise task vs bare PythonOperator",
        best["skipwise"],
        best["bare"],
        None,
    )


if __name__ == "__main__":
    main()
