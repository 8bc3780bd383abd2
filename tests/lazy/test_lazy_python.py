"""Lazy SQL steps in plain Python, on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

import skipwise
from skipwise.config import current_store
from tests.lazy import pipeline
from tests.lazy.pgstats import result_tables, table_stats


@pytest.fixture(autouse=True)
def fresh_calls() -> None:
    pipeline.CALLS.clear()


def test_queries_run_in_the_database_and_downstream_gets_a_frame(sql_url: str) -> None:
    skipwise.configure(store=sql_url)
    assert pipeline.run() == pytest.approx(pipeline.expected())
    assert pipeline.CALLS == ["orders", "customers", "joined", "totals", "report"]

    # Second run: lazy bodies build their queries again (that is how they are signed), and
    # every step is reused.
    pipeline.CALLS.clear()
    assert pipeline.run() == pytest.approx(pipeline.expected())
    assert pipeline.CALLS == ["joined", "totals"]

    # A new query (another minimum): the join and everything after it run again.
    pipeline.CALLS.clear()
    assert pipeline.run(minimum=5.0) == pytest.approx(pipeline.expected(5.0))
    assert pipeline.CALLS == ["joined", "totals", "report"]


def test_a_lazy_result_is_a_ref_to_a_real_table(sql_url: str) -> None:
    skipwise.configure(store=sql_url)
    outcome = pipeline.joined.run(pipeline.orders(6), pipeline.customers())
    assert outcome.status is skipwise.Status.COMPUTED
    assert isinstance(outcome.value, skipwise.Ref)
    store = current_store()
    assert outcome.manifest.data.startswith("sw_")
    frame = outcome.value.load()
    expected = (
        pipeline.make_orders(6)
        .merge(pipeline.make_customers(), on="customer")
        .query("amount > 2.0")[["id", "amount", "name"]]
        .reset_index(drop=True)
    )
    pd.testing.assert_frame_equal(frame, expected, check_dtype=False)
    # The signed SQL names upstream tables by parameter, not by their (signature) names.
    sql = outcome.tree.extra["sql"]
    assert "{orders}" in sql and "{customers}" in sql and "sw_" not in sql
    stored = store.tree(outcome.manifest)
    assert stored is not None and stored["extra"]["sql"] == sql
    # It is checked like any stored table: its data matches the manifest's checksum.
    store.verify(outcome.manifest)


def test_same_upstream_content_under_a_new_signature_reuses_the_query(sql_url: str) -> None:
    """An upstream recomputed to the same rows (new signature, new table) changes no signed
    SQL: the lazy step is reused (early cutoff), though its upstream table's name changed."""
    skipwise.configure(store=sql_url)
    customers = pipeline.customers()
    first = pipeline.joined.run(pipeline.orders(6), customers)
    renamed = skipwise.cached(pipeline.orders.fn, name="tests.lazy.pipeline.orders", version=2)
    again = pipeline.joined.run(renamed(6), customers)
    assert again.status is skipwise.Status.REUSED
    assert again.signature == first.signature


def test_second_run_executes_no_query_by_postgres_statistics(pg_url: str) -> None:
    """PostgreSQL's own counters: a reused lazy step reads no table and writes none."""
    skipwise.configure(store=pg_url)
    store = current_store()
    database, schema = store._target.database, store.schema
    orders, customers = pipeline.orders(50), pipeline.customers()
    pipeline.joined(orders, customers)
    before = result_tables(table_stats(database, schema))
    joined_table = next(name for name in before if "joined" in name)
    assert before[joined_table][2] > 0  # the join's rows were inserted, by the database

    again = pipeline.joined.run(orders, customers)
    assert again.status is skipwise.Status.REUSED
    assert result_tables(table_stats(database, schema)) == before

    # The same counters see a query that does run: a new minimum scans both upstream tables.
    pipeline.joined(orders, customers, 10.0)
    after = result_tables(table_stats(database, schema))
    scanned = [name for name, counts in before.items() if counts[0] < after[name][0]]
    assert sorted(scanned) == sorted(n for n in before if "orders" in n or "customers" in n)
    assert len(after) == len(before) + 1


def test_lazy_needs_a_sql_store() -> None:
    with pytest.raises(skipwise.SkipwiseError, match=r"joined: lazy=True needs a SQL store"):
        pipeline.joined(pipeline.orders(3), pipeline.customers())
    assert pipeline.CALLS == ["orders", "customers"]


def test_a_body_that_returns_no_query_is_refused(sql_url: str) -> None:
    skipwise.configure(store=sql_url)

    @skipwise.cached(lazy=True)
    def not_a_query(orders: sa.Table) -> object:
        return pd.DataFrame({"x": [1]})

    with pytest.raises(skipwise.SkipwiseError, match=r"not_a_query: a lazy step returns a query"):
        not_a_query(pipeline.orders(3))
    assert not [m for m in current_store().manifests() if "not_a_query" in m.name]


def test_a_failing_query_names_the_step_and_leaves_nothing(sql_url: str) -> None:
    skipwise.configure(store=sql_url)

    @skipwise.cached(lazy=True)
    def broken(orders: sa.Table) -> sa.TextClause:
        return sa.text(f"SELECT no_such_column FROM {orders}")

    @skipwise.cached(lazy=True)
    def broken_script(orders: sa.Table) -> skipwise.RawSql:
        return skipwise.RawSql(
            f"CREATE TABLE {{target}} AS SELECT id FROM {orders}; INSERT INTO {{target}} "
            "VALUES ('not', 'one', 'column')"
        )

    source = pipeline.orders(3)
    store = current_store()
    with store._db().connect() as conn:
        tables_before = set(sa.inspect(conn).get_table_names(store.schema))
    for step in (broken, broken_script):
        with pytest.raises(skipwise.QueryFailed, match=rf"{step.name}: its query failed in"):
            step(source)
        assert not [m for m in store.manifests() if m.name == step.name]
        assert store.pointer(step.name) is None
    with store._db().connect() as conn:
        assert set(sa.inspect(conn).get_table_names(store.schema)) == tables_before
    assert list(store.leftovers()) == []


def test_an_upstream_kept_as_a_blob_is_refused(sql_url: str) -> None:
    skipwise.configure(store=sql_url)

    @skipwise.cached
    def numbers() -> list[int]:
        return [1, 2, 3]

    @skipwise.cached(lazy=True)
    def over(numbers: sa.Table) -> sa.Select:
        return sa.select(numbers)

    with pytest.raises(
        skipwise.SkipwiseError,
        match=r"over: the upstream result passed as "
        r"'numbers' \(\w+\) is stored as an encoded value, not as a table",
    ):
        over(numbers())


def test_raw_sql_must_write_its_target() -> None:
    with pytest.raises(ValueError, match=r"never writes \{target\}"):
        skipwise.RawSql("SELECT 1")
    assert skipwise.RawSql("CREATE TABLE {target} AS SELECT ';' AS s; SELECT 2").statements == (
        "CREATE TABLE {target} AS SELECT ';' AS s",
        "SELECT 2",
    )


def test_column_types_come_back_as_frame_columns(pg_url: str) -> None:
    skipwise.configure(store=pg_url)

    @skipwise.cached(lazy=True)
    def typed(orders: sa.Table) -> sa.TextClause:
        return sa.text(
            "SELECT id, customer::int AS small, amount::numeric / 3 AS third, id > 1 AS big, "
            "DATE '2024-01-02' + id::int AS day, TIMESTAMP '2024-01-02 03:04:05.123456' AS at, "
            f"TIMESTAMPTZ '2024-01-02 03:04:05+02' AS at_tz FROM {orders} ORDER BY id"
        )

    frame = typed(pipeline.orders(3)).load()
    assert list(frame["id"]) == [0, 1, 2] and str(frame["id"].dtype) == "int64"
    assert list(frame["small"]) == [0, 1, 2] and str(frame["small"].dtype) == "int32"
    assert list(frame["third"]) == pytest.approx([0.0, 0.5, 1.0])
    assert list(frame["big"]) == [False, False, True]
    assert [str(day) for day in frame["day"]] == ["2024-01-02", "2024-01-03", "2024-01-04"]
    assert frame["at"][0] == pd.Timestamp("2024-01-02 03:04:05.123456")
    assert frame["at_tz"][0] == pd.Timestamp("2024-01-02 01:04:05", tz="UTC")


def test_a_column_no_frame_holds_is_refused_by_name(pg_url: str) -> None:
    skipwise.configure(store=pg_url)

    @skipwise.cached(lazy=True)
    def arrays(orders: sa.Table) -> sa.TextClause:
        return sa.text(f"SELECT id, ARRAY[id, customer] AS pair FROM {orders}")

    with pytest.raises(skipwise.QueryFailed, match=r"arrays: .*column 'pair' has type .*cast it"):
        arrays(pipeline.orders(3))
    assert list(current_store().leftovers()) == []


def test_a_read_only_store_serves_hits_and_refuses_to_run_queries(sql_url: str) -> None:
    skipwise.configure(store=sql_url)
    orders, customers = pipeline.orders(6), pipeline.customers()
    stored = pipeline.joined.run(orders, customers)
    skipwise.configure(store=sql_url, read_only=True)
    hit = pipeline.joined.run(orders, customers)
    assert hit.status is skipwise.Status.REUSED and hit.signature == stored.signature
    with pytest.raises(skipwise.StoreError, match=r"joined: a lazy step's query makes its table"):
        pipeline.joined(orders, customers, 4.0)


def test_concurrent_callers_run_the_query_once(pg_url: str) -> None:
    """Two processes reach the same lazy step at once: one runs the query, the other waits
    on its lease and reuses the table; PostgreSQL counts the rows inserted once."""
    skipwise.configure(store=pg_url)
    store = current_store()
    source = pipeline.orders.run(6)
    root = Path(__file__).resolve().parents[2]
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.lazy.pipeline", pg_url, source.signature],
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [worker.communicate(timeout=300) for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], results
    assert sorted(out.strip() for out, _ in results) == ["computed", "reused"]
    stats = result_tables(table_stats(store._target.database, store.schema))
    made = [counts for name, counts in stats.items() if "slow_copy" in name]
    assert len(made) == 1 and made[0][2] == 6


def test_select_star_over_an_upstream_table_gives_its_columns(sql_url: str) -> None:
    """``SELECT *`` over a stored table also reads skipwise's row numbers: they give way to
    the new table's own."""
    skipwise.configure(store=sql_url)

    @skipwise.cached(lazy=True)
    def everything(orders: sa.Table) -> sa.TextClause:
        return sa.text(f"SELECT * FROM {orders} ORDER BY id")

    frame = everything(pipeline.orders(5)).load()
    pd.testing.assert_frame_equal(frame, pipeline.make_orders(5), check_dtype=False)


def test_an_upstream_frame_is_never_probed_for_attributes(sql_url: str) -> None:
    """A frame with a column named like a Ref's field (``store``) is still an upstream."""
    skipwise.configure(store=sql_url)

    @skipwise.cached
    def shops() -> pd.DataFrame:
        return pd.DataFrame({"store": ["north", "south"], "sales": [3, 4]})

    @skipwise.cached(lazy=True)
    def north(shops: sa.Table) -> sa.Select:
        return sa.select(shops.c.sales).where(shops.c.store == "north")

    assert north(shops()).load()["sales"].tolist() == [3]
