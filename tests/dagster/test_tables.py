"""``input_type=`` and ``fresh=`` on ``skipwise.dagster.asset`` under real ``materialize`` runs
on a persistent instance, on the local store, SQLite and PostgreSQL (a database of its own)."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

import skipwise.dagster as sd
from skipwise.host import discover, make_plan
from tests.dagster.conftest import Project, latest, status
from tests.stores.servers import scratch_database

ASSETS = """
    import os

    import pandas as pd
    import polars as pl
    import sqlalchemy as sa

    import skipwise.dagster as sd
    import skipwise.fresh
    from minipipe.counter import record

    SOURCE = os.environ["TABLES_SOURCE"]

    @sd.asset(fresh=skipwise.fresh.sql_table(SOURCE, "orders", "amount"))
    def orders():
        record("orders")
        with sa.create_engine(SOURCE).connect() as conn:
            return pd.read_sql("SELECT id, amount FROM orders ORDER BY id", conn)

    @sd.asset(input_type=pl.DataFrame)
    def doubled(orders):
        record(f"doubled:{type(orders).__module__.partition('.')[0]}")
        return orders.with_columns(pl.col("amount") * 2)

    @sd.asset(input_type=pd.DataFrame)
    def total(doubled):
        record(f"total:{type(doubled).__module__.partition('.')[0]}")
        return {"total": int(doubled["amount"].sum())}

    @sd.asset(input_type=sa.Table)
    def located(doubled):
        record(f"located:{type(doubled).__name__}")
        return {"table": str(doubled.name)}

    frames = [orders, doubled, total]
"""
KEYS = ["orders", "doubled", "total"]


@pytest.fixture(params=["local", "sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "local":
        yield str(tmp_path / "store")
    elif request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
    else:
        with scratch_database("skipwise_dg_tables") as name:
            yield f"postgresql://postgres@127.0.0.1:5432/{name}"


def execute(url: str, statement: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(statement)
    engine.dispose()


@pytest.fixture
def tables(project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The assets module, reading an ``orders`` table in a SQLite source database."""
    source = f"sqlite:///{tmp_path / 'source.db'}"
    execute(source, "CREATE TABLE orders (id INTEGER, amount INTEGER)")
    execute(source, "INSERT INTO orders VALUES (1, 10), (2, 5)")
    monkeypatch.setenv("TABLES_SOURCE", source)
    (project.root / "minipipe" / "tables.py").write_text(textwrap.dedent(ASSETS).lstrip())
    return source


def load_tables(project: Project):
    project.load()
    import importlib

    return importlib.import_module("minipipe.tables")


def test_input_types_and_a_fresh_source_in_materialize_runs(
    project: Project, tables: str, store_url: str, instance: dg.DagsterInstance
) -> None:
    io_manager = sd.SkipwiseIOManager(store=store_url)
    module = load_tables(project)
    sql = store_url.startswith(("sqlite", "postgresql"))
    assets = [*module.frames, *([module.located] if sql else [])]
    keys = [*KEYS, *(["located"] if sql else [])]

    def run() -> None:
        result = dg.materialize(assets, instance=instance, resources={"io_manager": io_manager})
        assert result.success

    run()
    assert [status(instance, key) for key in keys] == ["computed"] * len(keys)
    expected = ["orders", "doubled:polars", "total:pandas", *(["located:Table"] if sql else [])]
    assert project.calls() == sorted(expected)
    store = io_manager.open_store()

    def value(key: str):
        signature = latest(instance, key).metadata["skipwise/signature"].value
        return store.load(store.manifest(signature))

    assert value("total") == {"total": 30}
    if sql:  # the polars result is a table in the store's database: the one located got
        doubled = store.manifest(latest(instance, "doubled").metadata["skipwise/signature"].value)
        assert value("located") == {"table": doubled.data}

    run()
    assert [status(instance, key) for key in keys] == ["reused"] * len(keys)
    assert project.calls() == []

    execute(tables, "INSERT INTO orders VALUES (3, 50)")
    plan = make_plan(discover(module), store, "tables")
    assert (plan.item("orders").status, plan.item("orders").cause) == (
        "rerun-input",
        "input table orders max(amount) is fresher",
    )
    assert plan.item("doubled").status == "rerun-upstream"
    run()
    mat = latest(instance, "orders")
    assert mat.metadata["skipwise/status"].value == "computed"
    assert mat.metadata["skipwise/reason"].value == "input table orders max(amount) is fresher"
    assert project.calls() == sorted(expected)
    assert value("total") == {"total": 130}
