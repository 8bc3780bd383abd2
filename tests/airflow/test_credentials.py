"""Stores configured the Airflow way: ``skipwise`` connections (defined by ``AIRFLOW_CONN_*``
JSON) whose extras point at an ``aws`` connection (a moto S3 server) or a ``postgres``
connection (a database of this module's own), ``[skipwise]`` options, and a task's own
``store=``; and their secrets never shown: not in task logs, XCom or the Signatures tab."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from skipwise import StoreError
from skipwise.host import StoreSpec, sql_url
from skipwise.store import CorruptEntry
from tests.airflow.conftest import DAGS, HOME, Project, run_dag
from tests.airflow.servers import api_server, request, server_env, started, token
from tests.stores import conftest as stores

# The store tests' servers: a moto S3 server, a PostgreSQL database of this session's own.
s3_endpoint = stores.s3_endpoint
pg_database = stores.pg_database

# What must never show. Trust authentication lets PostgreSQL take any password; moto any key.
PG_PASSWORD = "Pg-s3cret/with@and:é"  # quoted in a URL: the masker must know both forms
AWS_SECRET = "Aws-s3cret-0123456789"
SIGNING_KEY = "Signing-k3y-0123456789abcdef"
SECRETS = (PG_PASSWORD, "Pg-s3cret%2Fwith%40and%3A%C3%A9", AWS_SECRET, SIGNING_KEY)

CREDS_DAG = """
import os

import pendulum
from airflow.sdk import dag, task

import skipwise.airflow
from minipipe import steps
from skipwise.airflow import SkipwiseOperator
from skipwise.airflow.hook import SkipwiseHook


def total(scaled, labels):  # a plain task: loads both results from their stores
    return f"{sum(skipwise.airflow.load(scaled))}:{len(skipwise.airflow.load(labels))}"


def careless(numbers):  # prints what it should not: the masker must hide it
    spec = SkipwiseHook().spec()
    print(f"careless: store {spec.url} key {spec.signing_key}")
    return len(numbers)


@dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"))
def creds():
    numbers = task.skipwise(steps.numbers)()  # the default store
    scaled = task.skipwise(steps.scaled, store="skipwise_other")(numbers)  # a connection
    labels = SkipwiseOperator(  # a path
        task_id="labels",
        python_callable=steps.labels,
        op_args=[numbers],
        store=os.environ["CREDS_LOCAL_STORE"],
    )
    task(total)(scaled, labels.output)
    task.skipwise(careless)(numbers)


the_dag = creds()
"""


def connection(conn_type: str, **fields: object) -> str:
    return json.dumps({"conn_type": conn_type, **fields})


def postgres_connection(database_url: str) -> str:
    database = database_url.rsplit("/", 1)[1]
    return connection(
        "postgres",
        host="127.0.0.1",
        port=5432,
        login="postgres",
        password=PG_PASSWORD,
        schema=database,
        extra={"sslmode": "disable"},
    )


@pytest.fixture
def s3_bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A new bucket; no AWS variables or files, so credentials and endpoint come from the
    connection or nowhere."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    return stores.new_bucket(s3_endpoint)


@pytest.fixture
def creds_project(project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    (DAGS / "creds.py").write_text(CREDS_DAG)
    monkeypatch.setenv("CREDS_LOCAL_STORE", str(tmp_path / "local-store"))
    return project


def test_stores_from_connections_config_and_the_task(
    creds_project: Project,
    s3_bucket: str,
    s3_endpoint: str,
    pg_database: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    schema = f"c_{uuid.uuid4().hex[:8]}"
    default = connection(
        "skipwise",
        password=SIGNING_KEY,
        extra={"store": f"s3://{s3_bucket}/cache", "aws_conn_id": "aws_moto"},
    )
    aws = connection(
        "aws",
        login="AKIAMOTO",
        password=AWS_SECRET,
        extra={"endpoint_url": s3_endpoint, "region_name": "us-east-1"},
    )
    other = connection(
        "skipwise",
        extra={"postgres_conn_id": "pg_store", "sql_schema": schema},
    )
    monkeypatch.setenv("AIRFLOW_CONN_SKIPWISE_DEFAULT", default)
    monkeypatch.setenv("AIRFLOW_CONN_AWS_MOTO", aws)
    monkeypatch.setenv("AIRFLOW_CONN_SKIPWISE_OTHER", other)
    monkeypatch.setenv("AIRFLOW_CONN_PG_STORE", postgres_connection(pg_database))
    # Lower in the order: neither is used while the connection exists.
    monkeypatch.setenv("AIRFLOW__SKIPWISE__STORE", str(tmp_path / "cfg-store"))
    monkeypatch.setenv("SKIPWISE_STORE", str(tmp_path / "env-store"))

    tasks = ["numbers", "scaled", "labels", "careless"]
    cold = run_dag(creds_project.dag("creds"))
    assert cold.state == "success", cold.states
    assert creds_project.calls() == ["labels", "numbers", "scaled"]
    assert [cold.status(t) for t in tasks] == ["computed"] * 4
    assert cold.values["total"] == "6:3"  # scaled [0, 2, 4], labels of 3 numbers

    warm = run_dag(creds_project.dag("creds"))
    assert creds_project.calls() == []
    assert [warm.status(t) for t in tasks] == ["reused"] * 4
    assert warm.values["total"] == "6:3"

    # Each result is where its task's store setting says, and nowhere else.
    shown = {t: cold.values[t]["store"] for t in tasks}
    assert shown["numbers"] == shown["careless"] == f"s3://{s3_bucket}/cache"
    assert shown["scaled"].startswith("postgresql+psycopg://postgres:***@127.0.0.1:5432/")
    assert shown["labels"] == str(tmp_path / "local-store")
    assert {t: cold.values[t].get("store_conn_id") for t in tasks} == {
        "numbers": "skipwise_default",
        "scaled": "skipwise_other",
        "labels": None,
        "careless": "skipwise_default",
    }
    assert not (tmp_path / "cfg-store").exists() and not (tmp_path / "env-store").exists()

    aws_options = {"key": "AKIAMOTO", "secret": AWS_SECRET, "endpoint_url": s3_endpoint}
    s3 = StoreSpec(f"s3://{s3_bucket}/cache", aws_options, SIGNING_KEY).open()
    assert s3.pointer("creds.numbers").signature == cold.signature("numbers")
    assert s3.manifest(cold.signature("numbers")) is not None  # signed with this key...
    wrong = StoreSpec(f"s3://{s3_bucket}/cache", aws_options, "another-key-0123456789abcdef")
    with pytest.raises(CorruptEntry, match="wrong signature"):  # ...the connection's password
        wrong.open().manifest(cold.signature("numbers"))
    database = pg_database.rsplit("/", 1)[1]
    pg_url = sql_url(host="127.0.0.1", database=database, query={"schema": schema})
    pg = StoreSpec(pg_url).open()
    assert pg.pointer("creds.scaled").signature == cold.signature("scaled")
    assert pg.pointer("creds.numbers") is None

    everything = json.dumps([cold.values, warm.values])
    assert not [s for s in SECRETS if s in everything]


def test_the_order_in_which_store_settings_win(
    pg_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from skipwise.airflow.stores import task_store

    def used(option: str | None = None) -> tuple[str, str | None]:
        store, conn_id = task_store(option)
        return store.url, conn_id

    for name in ("AIRFLOW__SKIPWISE__STORE", "AIRFLOW__SKIPWISE__CONN_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # the project root of the embedded default
    (tmp_path / "pyproject.toml").write_text("")
    monkeypatch.delenv("SKIPWISE_STORE")
    assert used() == (str(tmp_path / ".skipwise"), None)
    monkeypatch.setenv("SKIPWISE_STORE", str(tmp_path / "env"))
    assert used() == (str(tmp_path / "env"), None)
    monkeypatch.setenv("AIRFLOW__SKIPWISE__STORE", str(tmp_path / "cfg"))
    assert used() == (str(tmp_path / "cfg"), None)
    monkeypatch.setenv(
        "AIRFLOW_CONN_SKIPWISE_DEFAULT", connection("skipwise", extra={"store": "memory://d"})
    )
    assert used() == ("memory://d", "skipwise_default")
    monkeypatch.setenv("AIRFLOW_CONN_PG_STORE", postgres_connection(pg_database))
    monkeypatch.setenv(
        "AIRFLOW_CONN_CHOSEN", connection("skipwise", extra={"postgres_conn_id": "pg_store"})
    )
    monkeypatch.setenv("AIRFLOW__SKIPWISE__CONN_ID", "chosen")
    url, conn_id = used()
    assert conn_id == "chosen" and url.startswith("postgresql+psycopg://postgres:***@127.0.0.1")
    # A task's own store= wins over everything: a path, a URL, or a connection.
    assert used(str(tmp_path / "mine")) == (str(tmp_path / "mine"), None)
    assert used("memory://mine") == ("memory://mine", None)
    assert used("skipwise_default") == ("memory://d", "skipwise_default")

    # Settings that name what does not exist, or the wrong kind of connection, say so.
    with pytest.raises(StoreError, match=r"no Airflow connection 'cache'.*'\./cache'"):
        task_store("cache")
    with pytest.raises(StoreError, match="connection 'pg_store' has type 'postgres'"):
        task_store("pg_store")
    monkeypatch.setenv("AIRFLOW__SKIPWISE__CONN_ID", "missing")
    with pytest.raises(StoreError, match=r"\[skipwise\] conn_id names connection 'missing'"):
        task_store()
    monkeypatch.setenv("AIRFLOW_CONN_BROKEN", connection("skipwise", extra={}))
    with pytest.raises(StoreError, match="connection 'broken': extra 'store'"):
        task_store("broken")


def test_the_signing_key_comes_from_a_command_or_the_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``[skipwise] signing_key`` is a sensitive option: ``_cmd`` (and ``_secret``, from the
    secrets backend) work; a connection's password wins over it."""
    from skipwise.airflow.stores import task_store

    cmd_key, conn_key = "from-a-command-0123456789", "from-the-connection-0123456789"
    monkeypatch.setenv("AIRFLOW__SKIPWISE__SIGNING_KEY_CMD", f"echo {cmd_key}")
    monkeypatch.setenv("AIRFLOW__SKIPWISE__STORE", str(tmp_path / "cfg"))
    assert task_store().store.signing_key == cmd_key.encode()
    monkeypatch.setenv(
        "AIRFLOW_CONN_SKIPWISE_DEFAULT",
        connection("skipwise", password=conn_key, extra={"store": str(tmp_path / "conn")}),
    )
    assert task_store().store.signing_key == conn_key.encode()


def test_store_option_is_checked_when_the_dag_is_parsed() -> None:
    from airflow.sdk import task

    from skipwise.airflow import SkipwiseOperator

    with pytest.raises(TypeError, match="store= takes a store URL or path"):
        SkipwiseOperator(task_id="t", python_callable=len, store=42)
    decorated = task.skipwise(len, store="skipwise_other")  # accepted by @task.skipwise
    assert decorated.operator_class.__name__ == "_SkipwiseDecoratedOperator"


# --- secrets in a real deployment: api-server, scheduler, task workers -------------------


@pytest.fixture
def deployment(
    creds_project: Project, pg_database: str, tmp_path: Path
) -> Iterator[tuple[str, dict[str, str]]]:
    """An api-server and a scheduler on this process's home, every store on PostgreSQL (the
    default through a connection); yields the base URL and the servers' environment."""
    from tests.airflow.conftest import serialize_dags

    schema = f"d_{uuid.uuid4().hex[:8]}"
    env = {
        "PYTHONDONTWRITEBYTECODE": "1",
        "AIRFLOW_CONN_PG_STORE": postgres_connection(pg_database),
        "AIRFLOW_CONN_SKIPWISE_DEFAULT": connection(
            "skipwise",
            password=SIGNING_KEY,
            extra={"postgres_conn_id": "pg_store", "sql_schema": schema},
        ),
        "AIRFLOW_CONN_SKIPWISE_OTHER": connection(
            "skipwise",
            extra={"postgres_conn_id": "pg_store", "sql_schema": schema + "o"},
        ),
    }
    os.environ.update(env)
    serialize_dags()
    try:
        with (
            api_server(**env) as base,
            started(
                ["scheduler", "--skip-serve-logs"],
                server_env(base, **env),
                tmp_path / "scheduler.log",
            ),
        ):
            yield base, env
    finally:
        for name in env:
            os.environ.pop(name, None)


def test_secrets_never_show_in_task_logs_xcom_or_the_tab(
    deployment: tuple[str, dict[str, str]],
) -> None:
    base, _ = deployment
    bearer = token(base)
    status, created = request(
        f"{base}/api/v2/dags/creds/dagRuns",
        method="POST",
        body={"logical_date": None},
        bearer=bearer,
    )
    assert status == 200, created
    run_id = created["dag_run_id"]
    deadline = time.monotonic() + 300
    while (
        state := request(f"{base}/api/v2/dags/creds/dagRuns/{run_id}", bearer=bearer)[1]["state"]
    ) not in ("success", "failed"):
        assert time.monotonic() < deadline, "the run did not finish"
        time.sleep(1)
    assert state == "success"

    seen: list[str] = []
    logs = sorted((HOME / "logs" / "dag_id=creds").glob(f"run_id={run_id}/task_id=*/*.log"))
    assert {p.parent.name for p in logs} >= {"task_id=careless", "task_id=numbers"}
    seen += [p.read_text() for p in logs]
    careless = next(p for p in logs if p.parent.name == "task_id=careless").read_text()
    # Airflow masks the postgres connection's password as it is; the URL skipwise built from
    # it holds the password quoted: skipwise registered that URL (and the quoted form).
    [printed] = [json.loads(line)["event"] for line in careless.splitlines() if "careless:" in line]
    assert printed == "careless: store *** key ***"
    for task_id in ("numbers", "scaled", "labels", "careless", "total"):
        path = f"dags/creds/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/return_value"
        status, entry = request(f"{base}/api/v2/{path}", bearer=bearer)
        assert status == 200, entry
        seen.append(json.dumps(entry))
    status, view = request(f"{base}/skipwise/api/dags/creds", bearer=bearer)
    assert status == 200, view
    # The API server read the connection's store: the tasks that ran there are reused next.
    statuses = {t["task_id"]: t["status"] for t in view["tasks"]}
    assert statuses["numbers"] == statuses["careless"] == "reuse"
    assert view["store"].startswith("postgresql+psycopg://postgres:***@127.0.0.1:5432/")
    seen.append(json.dumps(view))
    for path in ("/skipwise/dags/creds/view", "/skipwise/dags/creds/view?task=numbers"):
        status, page = request(f"{base}{path}", bearer=bearer)
        assert status == 200
        seen.append(page)
    status, task_view = request(f"{base}/skipwise/api/dags/creds/tasks/numbers", bearer=bearer)
    assert status == 200 and task_view["tree"] is not None
    seen.append(json.dumps(task_view))

    everything = "\n".join(seen)
    assert not [s for s in SECRETS if s in everything]
    assert ":***@" in everything


def test_the_provider_registers_the_connection_type_and_config() -> None:
    """What Airflow's UI and ``airflow config`` see: the ``skipwise`` connection type with its
    fields and hook, and the ``[skipwise]`` options (``signing_key`` and ``store`` sensitive)."""
    from airflow.providers_manager import ProvidersManager
    from airflow.sdk.configuration import conf
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

    hook = ProvidersManagerTaskRuntime().hooks["skipwise"]
    assert hook is not None and hook.hook_class_name == "skipwise.airflow.hook.SkipwiseHook"
    assert hook.connection_id_attribute_name == "skipwise_conn_id"
    manager = ProvidersManager()  # the API server's: the connection form
    fields = {k for k in manager.connection_form_widgets if k.startswith("extra__skipwise__")}
    assert fields == {
        f"extra__skipwise__{name}"
        for name in ("store", "aws_conn_id", "postgres_conn_id", "sql_schema", "storage_options")
    }
    assert manager.field_behaviours["skipwise"]["relabeling"] == {"password": "Signing key"}
    assert {("skipwise", "signing_key"), ("skipwise", "store")} <= conf.sensitive_config_values
