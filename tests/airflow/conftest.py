"""Airflow fixtures: a temporary AIRFLOW_HOME on SQLite (a copy of one migrated database), a
small project in its DAGs folder whose step bodies log each call (the counters proving what
executed), and ``dag.test()`` runs read back from the metadata database.

Airflow reads its environment when first imported, so it is set when this module is imported;
each test process (each pytest-xdist worker) gets its own home.
"""

from __future__ import annotations

import atexit
import fcntl
import importlib
import importlib.metadata
import importlib.util
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

USERS = {"admin": ("admin", "admin-pw"), "viewer": ("viewer", "viewer-pw")}  # user: role, pw


def home_env(home: Path) -> dict[str, str]:
    """The environment of every Airflow process working on ``home``."""
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "2",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__MIN_SERIALIZED_DAG_UPDATE_INTERVAL": "0",  # tests edit DAGs at once
        # Every process of one home signs and checks the same tokens.
        "AIRFLOW__API_AUTH__JWT_SECRET": "skipwise-tests-jwt-secret-" + "0123456789abcdef" * 4,
        "AIRFLOW__API__SECRET_KEY": "skipwise-tests-secret-key-0123456789abcdef",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(
            f"{user}:{role}" for user, (role, _) in USERS.items()
        ),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
    }


def new_home(home: Path) -> dict[str, str]:
    """An Airflow home with a copy of the migrated database; returns its environment."""
    (home / "dags").mkdir(parents=True)
    (home / "passwords.json").write_text(
        "{" + ",".join(f'"{user}": "{pw}"' for user, (_, pw) in USERS.items()) + "}"
    )
    with sqlite3.connect(_template_database()) as src, sqlite3.connect(home / "airflow.db") as dst:
        src.backup(dst)
    return home_env(home)


def _template_database() -> Path:
    """One migrated database per Airflow version, shared by every test process."""
    version = importlib.metadata.version("apache-airflow-core")
    folder = Path(tempfile.gettempdir()) / f"skipwise-airflow-db-{version}"
    folder.mkdir(exist_ok=True)
    database = folder / "airflow.db"
    with (folder / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not database.exists():
            home = Path(tempfile.mkdtemp(dir=folder))
            subprocess.run(
                [sys.executable, "-m", "airflow", "db", "migrate"],
                env={**os.environ, **home_env(home)},
                check=True,
                capture_output=True,
            )
            (home / "airflow.db").replace(database)
            shutil.rmtree(home)
    return database


# This process's home (each pytest-xdist worker has its own).
HOME = Path(tempfile.mkdtemp(prefix="skipwise-airflow-"))
DAGS = HOME / "dags"
os.environ.update(new_home(HOME))
os.environ.pop("AIRFLOW__CORE__UNIT_TEST_MODE", None)
sys.path.insert(0, str(DAGS))  # as Airflow's DAG processor and workers have it
atexit.register(shutil.rmtree, HOME, True)

PROJECT = {
    "minipipe/__init__.py": "",
    "minipipe/counter.py": """
        import os

        def record(call):
            with open(os.environ["MINIPIPE_CALLS"], "a") as log:
                log.write(call + "\\n")
    """,
    "minipipe/helpers.py": """
        SCALE = 2
        OFFSET = 10

        def scale(x):
            return x * SCALE

        def label(x):
            return f"#{x}"
    """,
    "minipipe/steps.py": """
        import skipwise.airflow
        from minipipe.counter import record
        from minipipe.helpers import OFFSET, label, scale

        def numbers(n: int = 3):
            record("numbers")
            return list(range(n))

        def scaled(numbers):
            record("scaled")
            return [scale(x) for x in numbers]

        def labels(numbers):
            record("labels")
            return [label(x) for x in numbers]

        def offset():  # run by a plain task
            record("offset")
            return OFFSET

        def shifted(scaled, offset):
            record("shifted")
            return [x + offset for x in scaled]

        def summary(shifted, labels) -> dict:
            record("summary")
            return {"total": sum(shifted), "labels": labels}

        def report(summary):  # run by a plain task: one call gets the object
            record("report")
            return f"total={skipwise.airflow.load(summary)['total']}"

        def broken(numbers):
            record("broken")
            raise ValueError("broken step")

        def on_day(ds):
            record(f"on_day:{ds}")
            return ds

        def per_day(day, numbers):
            record(f"per_day:{day}")
            return [f"{day}:{scale(x)}" for x in numbers]
    """,
    # numbers -> scaled, labels; scaled + a plain task's value -> shifted; -> summary -> report
    "pipe.py": """
        import pendulum
        from airflow.sdk import dag, task

        from minipipe import steps
        from skipwise.airflow import SkipwiseOperator

        @dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"))
        def pipe():
            numbers = task.skipwise(steps.numbers)()
            scaled = task.skipwise(steps.scaled)(numbers)
            labels = task.skipwise(steps.labels)(numbers)
            offset = task(steps.offset)()
            shifted = SkipwiseOperator(
                task_id="shifted", python_callable=steps.shifted, op_args=[scaled, offset]
            )
            summary = task.skipwise(steps.summary)(shifted.output, labels)
            task(steps.report)(summary)
            # (new tasks go here)

        the_dag = pipe()
    """,
    # on_day declares ds (one result per date); numbers and per_day's code do not
    "daily.py": """
        import pendulum
        from airflow.sdk import Asset, dag, task

        from minipipe import steps

        @dag(
            schedule="@daily",
            start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
            end_date=pendulum.datetime(2024, 1, 3, tz="UTC"),  # no scheduled runs: backfills
            catchup=False,
        )
        def daily():
            numbers = task.skipwise(steps.numbers, outlets=[Asset("minipipe://numbers")])()
            day = task.skipwise(steps.on_day)()
            task.skipwise(steps.per_day)(day, numbers)
            task.skipwise(steps.numbers, task_id="numbers_of_day", partition="{{ ds }}")()

        the_dag = daily()
    """,
    "broken.py": """
        import pendulum
        from airflow.sdk import dag, task

        from minipipe import steps

        @dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"))
        def broken():
            task.skipwise(steps.broken)(task.skipwise(steps.numbers)())

        the_dag = broken()
    """,
}


ROOT = Path(__file__).resolve().parents[2]
PROJECT_MODULES = ("minipipe", "taxi", *(Path(f).stem for f in PROJECT if "/" not in f))


@dataclass
class Run:
    """A finished DAG run: its state, and each task's state and return value (a mapped task's
    by map index in ``mapped``)."""

    run_id: str
    state: str
    states: dict[str, str]
    values: dict[str, Any]
    mapped: dict[str, dict[int, Any]]

    def status(self, task_id: str) -> str:
        """reused / computed, from the task's skipwise reference."""
        return self.values[task_id]["status"]

    def signature(self, task_id: str) -> str:
        return self.values[task_id]["signature"]


def run_dag(dag: Any, **kwargs: Any) -> Run:
    """``dag.test(**kwargs)``, then what the metadata database says about the run."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    dag_run = dag.test(**kwargs)
    with create_session() as session:
        instances = session.scalars(
            select(TaskInstance).where(
                TaskInstance.dag_id == dag.dag_id, TaskInstance.run_id == dag_run.run_id
            )
        )
        states = {ti.task_id: str(ti.state) for ti in instances}
        rows = session.scalars(
            select(XComModel).where(
                XComModel.dag_id == dag.dag_id,
                XComModel.run_id == dag_run.run_id,
                XComModel.key == "return_value",
            )
        )
        values: dict[str, Any] = {}
        mapped: dict[str, dict[int, Any]] = {}
        for row in rows:
            value = XComModel.deserialize_value(row)
            if row.map_index < 0:
                values[row.task_id] = value
            else:
                mapped.setdefault(row.task_id, {})[row.map_index] = value
    return Run(dag_run.run_id, str(dag_run.state), states, values, mapped)


def forget_project_modules() -> None:
    for name in list(sys.modules):
        top = name.partition(".")[0]
        if top in PROJECT_MODULES or top.startswith("unusual_prefix_"):
            del sys.modules[name]
    importlib.invalidate_caches()


def serialize_dags() -> None:
    """Write the DAGs folder's current DAGs to the database, as the DAG processor does."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db

    forget_project_modules()
    DagBundlesManager().sync_bundles_to_db()
    sync_bag_to_db(
        BundleDagBag(dag_folder=DAGS, bundle_path=DAGS, bundle_name="dags-folder"),
        "dags-folder",
        None,
    )


class Project:
    """Files in a DAGs folder; :meth:`dag` imports a DAG file's current code afresh."""

    def __init__(self, calls: Path, folder: Path = DAGS):
        self.calls_file = calls
        self.folder = folder

    def dag(self, name: str) -> Any:
        forget_project_modules()
        spec = importlib.util.spec_from_file_location(name, self.folder / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        from airflow.sdk import DAG

        return next(value for value in vars(module).values() if isinstance(value, DAG))

    def add(self, files: dict[str, str]) -> Project:
        """Write ``files`` (dedented) into the DAGs folder, beside the project's."""
        for name, source in files.items():
            (self.folder / name).write_text(textwrap.dedent(source).lstrip())
        return self

    def edit(self, file: str, old: str, new: str) -> None:
        path = self.folder / file
        text = path.read_text()
        assert old in text, f"{old!r} not in {file}"
        path.write_text(text.replace(old, new))

    def calls(self) -> list[str]:
        """The bodies that ran since the last call, sorted (a run's tasks may run in any
        order)."""
        if not self.calls_file.exists():
            return []
        lines = self.calls_file.read_text().split()
        self.calls_file.unlink()
        return sorted(lines)


def write_project(files: dict[str, str], folder: Path = DAGS) -> None:
    """Replace the DAGs folder's content with ``files``."""
    shutil.rmtree(folder)
    for name, source in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source).lstrip())


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Project]:
    write_project(PROJECT)
    calls = tmp_path / "calls.log"
    monkeypatch.setenv("MINIPIPE_CALLS", str(calls))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # edited files must be re-read
    yield Project(calls)
    forget_project_modules()


@pytest.fixture
def taxi(monkeypatch: pytest.MonkeyPatch) -> Iterator[Project]:
    """The example pipeline (dags/taxi and dags/taxi_airflow.py) in the DAGs folder."""
    shutil.rmtree(DAGS)
    shutil.copytree(
        ROOT / "dags" / "taxi", DAGS / "taxi", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "dags" / "taxi_airflow.py", DAGS / "taxi_airflow.py")
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    yield Project(DAGS / "no-counter")
    forget_project_modules()
