"""``input_type=`` and ``fresh=`` on ``@task.skipwise`` in real ``dag.test()`` runs, on the local
store, SQLite and PostgreSQL (a database of its own), reading a source table in SQLite."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

import skipwise
from skipwise.airflow import load
from tests.airflow.conftest import DAGS, Project, run_dag
from tests.stores.servers import scratch_database

FILES = {
    "tablesteps.py": """
        import os

        import pandas as pd
        import polars as pl
        import sqlalchemy as sa

        from minipipe.counter import record

        def orders():
            record("orders")
            with sa.create_engine(os.environ["TABLES_SOURCE"]).connect() as conn:
                return pd.read_sql("SELECT id, amount FROM orders ORDER BY id", conn)

        def doubled(orders):
            record(f"doubled:{type(orders).__module__.partition('.')[0]}")
            return orders.with_columns(pl.col("amount") * 2)

        def total(doubled):
            record(f"total:{type(doubled).__module__.partition('.')[0]}")
            return {"total": int(doubled["amount"].sum())}

        def located(doubled):
            record(f"located:{type(doubled).__name__}")
            return {"table": str(doubled.name), "columns": [str(c.name) for c in doubled.columns]}
    """,
    "tables.py": """
        import os

        import pandas as pd
        import pendulum
        import polars as pl
        import sqlalchemy as sa
        from airflow.sdk import dag, task

        import skipwise.fresh
        import tablesteps

        SOURCE = os.environ["TABLES_SOURCE"]

        @dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"))
        def tables():
            source = skipwise.fresh.sql_table(SOURCE, "orders", "amount")
            orders = task.skipwise(tablesteps.orders, fresh=source)()
            doubled = task.skipwise(tablesteps.doubled, input_type=pl.DataFrame)(orders)
            task.skipwise(tablesteps.total, input_type=pd.DataFrame)(doubled)
            if os.environ["SKIPWISE_STORE"].startswith(("sqlite", "postgresql")):
                task.skipwise(tablesteps.located, input_type=sa.Table)(doubled)

        the_dag = tables()
    """,
}


@pytest.fixture(params=["local", "sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "local":
        yield str(tmp_path / "store")
    elif request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
    else:
        with scratch_database("skipwise_af_tables") as name:
            yield f"postgresql://postgres@127.0.0.1:5432/{name}"


@pytest.fixture
def source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'source.db'}"
    execute(url, "CREATE TABLE orders (id INTEGER, amount INTEGER)")
    execute(url, "INSERT INTO orders VALUES (1, 10), (2, 5)")
    monkeypatch.setenv("TABLES_SOURCE", url)
    return url


@pytest.fixture(autouse=True)
def forget_modules() -> Iterator[None]:
    """This file's modules are not the conftest project's: imported afresh by each test."""
    yield
    for name in ("tables", "tablesteps"):
        sys.modules.pop(name, None)


def execute(url: str, statement: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(statement)
    engine.dispose()


def test_input_types_and_a_fresh_source_in_dag_runs(
    project: Project, source: str, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SKIPWISE_STORE", store_url)
    project.add(FILES)
    sql = store_url.startswith(("sqlite", "postgresql"))
    tasks = ["orders", "doubled", "total", *(["located"] if sql else [])]

    cold = run_dag(project.dag("tables"))
    assert set(cold.states.values()) == {"success"}
    assert [cold.status(t) for t in tasks] == ["computed"] * len(tasks)
    # Each task got its upstream as the type it asked for, whatever was stored.
    expected = ["orders", "doubled:polars", "total:pandas", *(["located:Table"] if sql else [])]
    assert project.calls() == sorted(expected)
    assert load(cold.values["total"]) == {"total": 30}
    if sql:  # the stored polars frame is a table in the store's database, named for the task
        located = load(cold.values["located"])
        assert located["columns"] == ["id", "amount"]
        assert (
            located["table"]
            == skipwise.open_store(store_url).manifest(cold.signature("doubled")).data
        )

    warm = run_dag(project.dag("tables"))
    assert [warm.status(t) for t in tasks] == ["reused"] * len(tasks)
    assert project.calls() == []

    execute(source, "INSERT INTO orders VALUES (3, 50)")
    fresher = run_dag(project.dag("tables"))
    assert fresher.status("orders") == "computed"
    assert fresher.values["orders"]["reason"] == "input table orders max(amount) is fresher"
    assert project.calls() == sorted(expected)
    assert load(fresher.values["total"]) == {"total": 130}

    # `skipwise plan` on the DAG file evaluates the fresh function: nothing newer, then newer.
    def plan() -> dict[str, tuple[str, str]]:
        result = subprocess.run(
            [sys.executable, "-m", "skipwise.cli", "plan", "tables.py", "-f", "json"],
            cwd=DAGS,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        items = json.loads(result.stdout)["items"]
        return {item["label"]: (item["status"], item["cause"]) for item in items}

    assert {status for status, _ in plan().values()} == {"reuse"}
    execute(source, "INSERT INTO orders VALUES (4, 1)")
    planned = plan()
    assert planned["orders"] == ("rerun-input", "input table orders max(amount) is fresher")
    assert planned["doubled"][0] == "rerun-upstream"
