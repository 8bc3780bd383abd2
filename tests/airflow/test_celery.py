"""Airflow's CeleryExecutor with two Celery workers, the way teams scale out: a PostgreSQL
metadata database, Redis as the broker, the real ``airflow api-server``, ``scheduler`` and
``dag-processor`` on 127.0.0.1, and one S3 store (a moto server) shared by every worker.

One DAG fans out from ``seed`` to eight tasks with the same signature and to a mapped task.
Bodies append to a file (the counters proving what executed, whatever process ran them): a cold
run computes each signature once (the lease makes the seven twins wait and reuse), a second run
reuses everything, and after a helper changes only what reaches it runs again.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.airflow.conftest import PROJECT as BASE_PROJECT
from tests.airflow.conftest import Project, new_home, write_project
from tests.airflow.servers import AIRFLOW, api_server, request, server_env, started, token
from tests.stores.conftest import new_bucket
from tests.stores.servers import moto_server, scratch_database

# About 3 minutes on an idle 2-core machine; far longer when eight jobs share it.
pytestmark = [pytest.mark.executors, pytest.mark.timeout(1500)]

TWINS = 8
REDIS_DB = 11  # this suite's Redis database; the queue name below is unique per run

FILES = {
    "minipipe/fleet.py": """
        from minipipe.counter import record
        from minipipe.helpers import scale

        def seed(n: int = 3):
            record("seed")
            return list(range(n))

        def twin(numbers):  # eight tasks call it with the same input: one signature
            record("twin")
            return [scale(x) for x in numbers]

        def item(x):
            record(f"item:{x}")
            return scale(x) + 1

        def total(items, twin):
            record("total")
            return sum(items) + sum(twin)
    """,
    "fleet.py": f"""
        import pendulum
        from airflow.sdk import dag, task

        from minipipe import fleet

        @dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"))
        def fleet_dag():
            numbers = task.skipwise(fleet.seed)()
            twins = [
                task.skipwise(fleet.twin, task_id=f"twin_{{i}}")(numbers) for i in range({TWINS})
            ]
            items = task.skipwise(fleet.item).expand(x=numbers)
            task.skipwise(fleet.total)(items, twins[0])

        the_dag = fleet_dag()
    """,
}
PROJECT = {
    name: source
    for name, source in BASE_PROJECT.items()
    if name.startswith("minipipe/") and name != "minipipe/steps.py"
} | FILES


def cluster_env(home: Path, database: str, s3: str, store: str, calls: Path) -> dict[str, str]:
    """What every process of the deployment shares: home, metadata DB, broker, store."""
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}"
    queue = f"skipwise-{uuid.uuid4().hex[:8]}"
    return {
        **new_home(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": url,
        # Airflow 3 also opens the metadata database asynchronously (psycopg 3 does both).
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": url,
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__PARALLELISM": "16",
        "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{url}",
        # Workers import the store's libraries once, not in every task process.
        "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS": "skipwise.airflow.celery.CELERY_CONFIG",
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "600",
        "PYTHONDONTWRITEBYTECODE": "1",  # edited files must be re-read
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": s3,
        "SKIPWISE_STORE": store,
        "MINIPIPE_CALLS": str(calls),
    }


def airflow(env: dict[str, str], *args: str) -> None:
    result = subprocess.run([AIRFLOW, *args], env={**os.environ, **env}, capture_output=True)
    assert result.returncode == 0, result.stderr[-3000:]


class Deployment:
    """The running processes' REST API and the metadata database, read directly."""

    def __init__(self, base: str, database: str):
        self.base = base
        self.database = database
        self.bearer = token(base)

    def wait_for_dag(self, dag_id: str) -> None:
        deadline = time.monotonic() + 240
        while request(f"{self.base}/api/v2/dags/{dag_id}", bearer=self.bearer)[0] != 200:
            assert time.monotonic() < deadline, f"the dag-processor never parsed {dag_id}"
            time.sleep(1)

    def run(self, dag_id: str) -> tuple[dict[str, dict], dict[int, dict]]:
        """Trigger ``dag_id``, wait until it finishes; each task's skipwise reference (a
        mapped task's by map index)."""
        status, body = request(
            f"{self.base}/api/v2/dags/{dag_id}/dagRuns",
            method="POST",
            body={"logical_date": None},
            bearer=self.bearer,
        )
        assert status == 200, body
        run_id = body["dag_run_id"]
        deadline = time.monotonic() + 600
        while True:
            _, run = request(
                f"{self.base}/api/v2/dags/{dag_id}/dagRuns/{run_id}", bearer=self.bearer
            )
            if run["state"] in ("success", "failed"):
                break
            assert time.monotonic() < deadline, f"run {run_id} did not finish: {run}"
            time.sleep(1)
        assert run["state"] == "success", self.failures(dag_id, run_id)
        return self.references(dag_id, run_id)

    def references(self, dag_id: str, run_id: str) -> tuple[dict[str, dict], dict[int, dict]]:
        conninfo = f"host=127.0.0.1 port=5432 user=postgres dbname={self.database}"
        with psycopg.connect(conninfo) as conn:
            rows = conn.execute(
                "SELECT task_id, map_index, value FROM xcom "
                "WHERE dag_id = %s AND run_id = %s AND key = 'return_value'",
                (dag_id, run_id),
            ).fetchall()
        values = {task: _json(v) for task, index, v in rows if index < 0}
        mapped = {index: _json(v) for task, index, v in rows if index >= 0}
        return values, mapped

    def failures(self, dag_id: str, run_id: str) -> object:
        return request(
            f"{self.base}/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances",
            bearer=self.bearer,
        )[1]


def _json(value: object) -> dict:
    return json.loads(value) if isinstance(value, str | bytes) else value


@contextlib.contextmanager
def deployment(home: Path, calls: Path) -> Iterator[Deployment]:
    with contextlib.ExitStack() as stack:
        s3 = stack.enter_context(moto_server())
        store = f"s3://{new_bucket(s3)}/cache"
        database = stack.enter_context(scratch_database("skipwise_celery"))
        env = cluster_env(home, database, s3, store, calls)
        write_project(PROJECT, home / "dags")
        airflow(env, "db", "migrate")
        base = stack.enter_context(api_server(**env))
        for args in (["scheduler", "--skip-serve-logs"], ["dag-processor"]):
            stack.enter_context(started(args, server_env(base, **env), home / f"{args[0]}.log"))
        for worker in ("w1", "w2"):
            args = ["celery", "worker", "--concurrency", "2", "--skip-serve-logs"]
            args += ["--without-gossip", "--without-mingle"]  # two workers, no chatter
            args += ["--queues", env["AIRFLOW__OPERATORS__DEFAULT_QUEUE"]]
            args += ["--celery-hostname", f"{worker}@%h", "--pid", str(home / f"{worker}.pid")]
            stack.enter_context(started(args, server_env(base, **env), home / f"{worker}.log"))
        yield Deployment(base, database)


def refs(value: dict | list) -> list[dict]:
    """A task's references: one, or one per element of a result a mapped task expands over."""
    return value if isinstance(value, list) else [value]


def statuses(values: dict[str, dict | list]) -> dict[str, str]:
    """task -> its status (the one status of all its references)."""
    found = {task: {ref["status"] for ref in refs(value)} for task, value in values.items()}
    assert all(len(one) == 1 for one in found.values()), found
    return {task: one.pop() for task, one in found.items()}


def signatures(values: dict[str, dict | list]) -> dict[str, list[str]]:
    return {task: [ref["signature"] for ref in refs(value)] for task, value in values.items()}


def test_celery_workers_compute_each_signature_once(tmp_path: Path) -> None:
    calls = tmp_path / "calls.log"
    project = Project(calls, folder=tmp_path / "home" / "dags")
    twins = [f"twin_{i}" for i in range(TWINS)]
    with deployment(tmp_path / "home", calls) as airflow_:
        airflow_.wait_for_dag("fleet_dag")

        values, mapped = airflow_.run("fleet_dag")
        # Each signature's body ran once: the seven twins waited for the first one's lease.
        assert project.calls() == ["item:0", "item:1", "item:2", "seed", "total", "twin"]
        assert len({values[twin]["signature"] for twin in twins}) == 1
        assert [statuses(values)[twin] for twin in twins].count("computed") <= 1
        assert sorted(mapped) == [0, 1, 2]

        again, mapped_again = airflow_.run("fleet_dag")
        assert project.calls() == []
        assert set(statuses(again).values()) == {"reused"}
        assert {m["status"] for m in mapped_again.values()} == {"reused"}
        assert signatures(again) == signatures(values)

        # scale() reaches the twins, the mapped items and (through them) total; not seed.
        project.edit("minipipe/helpers.py", "SCALE = 2", "SCALE = 3")
        edited, mapped_edited = airflow_.run("fleet_dag")
        assert project.calls() == ["item:0", "item:1", "item:2", "total", "twin"]
        assert statuses(edited)["seed"] == "reused"
        assert signatures(edited)["seed"] == signatures(values)["seed"]
        changed = ["total", *twins]
        assert all(edited[t]["signature"] != values[t]["signature"] for t in changed)
        assert all(mapped_edited[i]["signature"] != mapped[i]["signature"] for i in range(3))
