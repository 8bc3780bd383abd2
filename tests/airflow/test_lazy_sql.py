"""Lazy SQL tasks (``@task.skipwise(lazy=True)``) in real ``dag.test()`` runs on a
SQLite and a PostgreSQL store: queries run in the database, and a second run executes none
(on PostgreSQL, its own statistics say so)."""

from __future__ import annotations

import pytest

from skipwise import config
from tests.airflow.conftest import Project, run_dag
from tests.lazy.conftest import pg_database as pg_database
from tests.lazy.conftest import sql_url as sql_url
from tests.lazy.pgstats import database_stats
from tests.lazy.project import NEW_MINIMUM, TABLES, expected

FILES = {
    "minipipe/tables.py": TABLES,
    "tables_dag.py": """
        import pendulum
        from airflow.sdk import dag, task

        from minipipe import tables

        @dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"))
        def tables_dag():
            orders = task.skipwise(tables.orders)()
            customers = task.skipwise(tables.customers)()
            joined = task.skipwise(tables.joined, lazy=True)(orders, customers)
            totals = task.skipwise(tables.totals, lazy=True)(joined)
            task.skipwise(tables.report)(totals)

        the_dag = tables_dag()
    """,
}
TASKS = ["orders", "customers", "joined", "totals", "report"]


@pytest.fixture
def tables(project: Project, sql_url: str, monkeypatch: pytest.MonkeyPatch) -> Project:
    monkeypatch.setenv("SKIPWISE_STORE", sql_url)
    return project.add(FILES)


def report_of(run) -> dict[str, float]:
    store = config.current_store()
    return store.load(store.manifest(run.signature("report")))


def test_lazy_tasks_run_queries_in_the_database_once(tables: Project) -> None:
    cold = run_dag(tables.dag("tables_dag"))
    assert cold.state == "success"
    assert tables.calls() == sorted(TASKS)
    assert [cold.status(t) for t in TASKS] == ["computed"] * 5
    assert report_of(cold) == pytest.approx(expected())
    store = config.current_store()
    before = database_stats(store)
    assert not store.postgres or any("joined" in n and c[2] > 0 for n, c in before.items())

    # Second run: the lazy bodies build their queries (that is how they are signed); the
    # database runs none of them, nor reads any result table.
    warm = run_dag(tables.dag("tables_dag"))
    assert tables.calls() == ["joined", "totals"]
    assert [warm.status(t) for t in TASKS] == ["reused"] * 5
    assert database_stats(store) == before

    # A new query: the join, the script and the report run again; the sources do not.
    tables.edit("minipipe/tables.py", *NEW_MINIMUM)
    edited = run_dag(tables.dag("tables_dag"))
    assert {t: edited.status(t) for t in TASKS} == {
        "orders": "reused",
        "customers": "reused",
        "joined": "computed",
        "totals": "computed",
        "report": "computed",
    }
    assert report_of(edited) == pytest.approx(expected(minimum=30.0))


def test_a_failing_query_fails_its_task_and_stores_nothing(
    tables: Project, capfd: pytest.CaptureFixture[str]
) -> None:
    tables.edit("minipipe/tables.py", "sum(amount)", "sum(no_such_column)")
    run = run_dag(tables.dag("tables_dag"))
    assert run.states["totals"] == "failed" and run.states["joined"] == "success"
    logs = "".join(capfd.readouterr())
    assert "tables_dag.totals: its query failed in store" in logs
    assert "no_such_column" in logs and "(nothing was stored)" in logs
    store = config.current_store()
    assert store.pointer("tables_dag.totals") is None
    assert list(store.leftovers()) == []
