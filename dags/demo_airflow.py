"""The demo's Airflow phase: the taxi DAG (dags/taxi_airflow.py) run by ``airflow dags test``
cold, warm and after an edit, on one store of its own.

Airflow gets a temporary home with an embedded SQLite database (``airflow db migrate``); every
run is a fresh ``airflow dags test`` process. What each task did (reused or computed, and why)
is read back from its XCom, a skipwise reference.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

HERE = Path(__file__).resolve().parent
AIRFLOW = str(Path(sys.executable).parent / "airflow")
TASKS = ["trips", "cleaned", "fare_features", "time_features", "model", "metrics"]


def run(workdir: Path, console: Console, edit: Callable[[Path], None]) -> list[list[dict]]:
    """The phase, in ``workdir/airflow``; ``edit`` changes the helper in a pipeline folder.
    Returns what each task did in the cold, warm and edited runs."""
    folder = workdir / "airflow"
    dags = folder / "dags"
    shutil.copytree(HERE / "taxi", dags / "taxi", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(HERE / "taxi_airflow.py", dags)
    env = _environment(folder)
    console.rule("6. the taxi DAG in Airflow (`airflow dags test`, SQLite): cold run")
    _airflow(["db", "migrate"], env)
    cold = dags_test(folder, env)
    console.rule("7. Airflow again: every task is reused, no callable runs")
    warm = dags_test(folder, env)
    console.rule("8. the same edit in the DAG's copy of the pipeline; plan, then Airflow again")
    edit(dags)
    subprocess.run(
        [sys.executable, "-m", "skipwise.cli", "plan", "taxi_airflow.py"],
        cwd=dags,
        env={**env, "COLUMNS": "120"},
        check=True,
    )
    return [cold, warm, dags_test(folder, env)]


def dags_test(folder: Path, env: dict[str, str]) -> list[dict]:
    """One ``airflow dags test taxi``: each task's skipwise reference (``step`` is the task id),
    in the DAG's order."""
    _airflow(["dags", "test", "taxi"], env)
    with sqlite3.connect(f"file:{folder / 'airflow.db'}?mode=ro", uri=True) as db:
        rows = db.execute(
            "select task_id, value from xcom where dag_id = 'taxi' and key = 'return_value' "
            "and run_id = (select run_id from dag_run where dag_id = 'taxi' order by id desc)"
        ).fetchall()
    references = {task: json.loads(value) for task, value in rows}
    return [{"step": task, **references[task]} for task in TASKS]


def _environment(folder: Path) -> dict[str, str]:
    return {
        **os.environ,
        "AIRFLOW_HOME": str(folder),
        "AIRFLOW__CORE__DAGS_FOLDER": str(folder / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{folder / 'airflow.db'}",
        "SKIPWISE_STORE": str(folder / "store"),
        "PYTHONDONTWRITEBYTECODE": "1",  # the edit must be read, whatever the clock says
    }


def _airflow(args: list[str], env: dict[str, str]) -> None:
    result = subprocess.run([AIRFLOW, *args], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"demo: airflow {' '.join(args)} failed:\n{result.stdout[-4000:]}")
