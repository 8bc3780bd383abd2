"""Lazy SQL assets (``skipwise.dagster.asset(lazy=True)``) in real ``materialize`` runs on a
SQLite and a PostgreSQL store: queries run in the database, and a second run executes none
(on PostgreSQL, its own statistics say so)."""

from __future__ import annotations

import dagster as dg
import pytest

import skipwise
import skipwise.dagster as sd
from tests.dagster.conftest import Project, latest, status
from tests.lazy.conftest import pg_database as pg_database
from tests.lazy.conftest import sql_url as sql_url
from tests.lazy.pgstats import database_stats
from tests.lazy.project import NEW_MINIMUM, TABLES, expected

DEFS = """
import skipwise
import skipwise.dagster as sd
from minipipe import tables

orders = sd.asset(tables.orders)
customers = sd.asset(tables.customers)
joined = sd.asset(tables.joined, lazy=True)
totals = sd.asset(tables.totals, lazy=True)
report = sd.asset(tables.report)
assets = [orders, customers, joined, totals, report]
"""
ASSETS = ["orders", "customers", "joined", "totals", "report"]


@pytest.fixture
def tables(project: Project) -> Project:
    package = project.root / "minipipe"
    (package / "tables.py").write_text(TABLES.lstrip())
    (package / "table_defs.py").write_text(DEFS.lstrip())
    return project


def materialize(project: Project, instance: dg.DagsterInstance, manager) -> None:
    import importlib

    project.load()
    defs = importlib.import_module("minipipe.table_defs")
    result = dg.materialize(defs.assets, instance=instance, resources={"io_manager": manager})
    assert result.success


def test_lazy_assets_run_queries_in_the_database_once(
    tables: Project, instance: dg.DagsterInstance, sql_url: str
) -> None:
    manager = sd.SkipwiseIOManager(store=sql_url)
    store = manager.open_store()
    materialize(tables, instance, manager)
    assert tables.calls() == sorted(ASSETS)
    assert [status(instance, a) for a in ASSETS] == ["computed"] * 5
    report = latest(instance, "report").metadata["skipwise/signature"].value
    assert store.load(store.manifest(report)) == pytest.approx(expected())
    before = database_stats(store)
    assert not store.postgres or any("joined" in n and c[2] > 0 for n, c in before.items())

    # Second run: the lazy bodies build their queries (that is how they are signed); the
    # database runs none of them, nor reads any result table.
    materialize(tables, instance, manager)
    assert tables.calls() == ["joined", "totals"]
    assert [status(instance, a) for a in ASSETS] == ["reused"] * 5
    assert database_stats(store) == before

    # A new query: the join, the script and the report run again; the sources do not.
    tables.edit("tables.py", *NEW_MINIMUM)
    materialize(tables, instance, manager)
    assert {a: status(instance, a) for a in ASSETS} == {
        "orders": "reused",
        "customers": "reused",
        "joined": "computed",
        "totals": "computed",
        "report": "computed",
    }
    report = latest(instance, "report").metadata["skipwise/signature"].value
    assert store.load(store.manifest(report)) == pytest.approx(expected(minimum=30.0))


def test_a_lazy_asset_on_a_local_store_fails_clearly(
    tables: Project, instance: dg.DagsterInstance, io_manager: sd.SkipwiseIOManager
) -> None:
    import importlib

    tables.load()
    defs = importlib.import_module("minipipe.table_defs")
    with pytest.raises(skipwise.SkipwiseError, match=r"joined: lazy=True needs a SQL store"):
        dg.materialize(defs.assets, instance=instance, resources={"io_manager": io_manager})
    assert tables.calls() == ["customers", "orders"]
