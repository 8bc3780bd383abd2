"""polars frames as results, and ``input_type=`` reading what another task stored, on every
backend (local, S3 on a moto server, SQLite, PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import decimal

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
import sqlalchemy as sa

import skipwise
from skipwise.host import Ref
from skipwise.store import frames

TABLE_BACKENDS = ("sqlite", "postgresql")


def sample() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": [1, 2, 3],
            "name": ["a", None, "ccc"],
            "score": [0.5, None, 2.25],
            "ok": [True, False, None],
            "at": [dt.datetime(2024, 1, 1, 12), None, dt.datetime(2024, 3, 1, 0, 0, 1)],
        }
    )


def database_url(store_url: str) -> str:
    """The database a SQL store lives in, without skipwise's ``schema=``."""
    return store_url.split("?")[0]


def test_polars_results_are_stored_and_read_back_as_polars(store_url: str, backend: str) -> None:
    store = skipwise.open_store(store_url)
    calls = []

    @skipwise.cached(store=store)
    def frame(n):
        calls.append(n)
        return sample().head(n)

    first = frame.run(3)
    again = frame.run(3)
    assert (first.status, again.status) == ("computed", "reused")
    assert calls == [3]
    assert isinstance(again.value, pl.DataFrame)
    assert again.value.equals(sample())
    assert again.value.schema == sample().schema
    assert again.manifest.codec == "polars"
    # SQL stores keep it as a real table, which analysts can query.
    assert bool(frames.TABLE_NAME.fullmatch(again.manifest.data)) == (backend in TABLE_BACKENDS)


@pytest.mark.parametrize(
    "input_type, expected",
    [(pl.DataFrame, pl.DataFrame), (pl.LazyFrame, pl.LazyFrame), (pa.Table, pa.Table)],
)
def test_a_task_reads_a_pandas_result_as_the_type_it_asks_for(
    store_url: str, input_type: type, expected: type
) -> None:
    store = skipwise.open_store(store_url)
    received = []

    @skipwise.cached(store=store)
    def orders():
        return pd.DataFrame({"customer": ["x", "y", "x"], "amount": [1.5, 2.0, 3.0]})

    @skipwise.cached(store=store, input_type=input_type)
    def totals(orders):
        received.append(type(orders))
        frame = (pl.from_arrow(orders) if isinstance(orders, pa.Table) else orders).lazy()
        summed = frame.group_by("customer").agg(pl.col("amount").sum()).sort("customer")
        return summed.collect()

    # Downstream of a stored result: passed by reference, loaded only on a miss.
    upstream = orders.run()
    result = totals.run(Ref(upstream.signature, store))
    assert received == [expected]
    assert isinstance(result.value, pl.DataFrame)
    assert result.value.to_dict(as_series=False) == {"customer": ["x", "y"], "amount": [4.5, 2.0]}
    assert totals.run(Ref(upstream.signature, store)).status == "reused"
    assert received == [expected]  # the hit ran nothing
    reused = totals.run(orders())  # the same input in process: signed by lineage, reused
    assert reused.status == "reused"


def test_a_pandas_task_reads_a_polars_result(store_url: str) -> None:
    store = skipwise.open_store(store_url)

    @skipwise.cached(store=store)
    def frame():
        return sample()

    @skipwise.cached(store=store, input_type=pd.DataFrame)
    def described(frame):
        assert isinstance(frame, pd.DataFrame)
        return {"rows": len(frame), "mean": float(frame["score"].mean())}

    assert described(frame()) == {"rows": 3, "mean": 1.375}


@pytest.mark.parametrize("backend", TABLE_BACKENDS, indirect=True)
def test_sa_table_names_the_stored_table(store_url: str) -> None:
    store = skipwise.open_store(store_url)
    url = database_url(store_url)  # a text: an engine object is no value to sign
    runs = []

    @skipwise.cached(store=store)
    def orders():
        return pl.DataFrame({"customer": ["x", "y", "x"], "amount": [1, 2, 3]})

    @skipwise.cached(store=store, input_type=sa.Table)
    def totals(orders, minimum=0):
        runs.append(orders)
        query = (
            sa.select(orders.c.customer, sa.func.sum(orders.c.amount).label("amount"))
            .where(orders.c.amount > minimum)
            .group_by(orders.c.customer)
            .order_by(orders.c.customer)
        )
        with sa.create_engine(url).connect() as conn:
            return pd.DataFrame(conn.execute(query).all(), columns=["customer", "amount"])

    stored = orders.run()
    result = totals(orders(), minimum=1)
    assert result.to_dict("list") == {"customer": ["x", "y"], "amount": [3, 2]}
    (table,) = runs
    assert isinstance(table, sa.Table)
    assert table.name == stored.manifest.data  # the stored table itself: nothing was copied
    assert [c.name for c in table.columns] == ["customer", "amount"]  # no skipwise columns
    assert table.schema == store.schema
    assert totals.run(orders(), minimum=1).status == "reused"
    assert len(runs) == 1


def test_sa_table_of_a_result_not_kept_as_a_table_is_a_clear_error(store_url: str) -> None:
    store = skipwise.open_store(store_url)

    @skipwise.cached(store=store)
    def blob():  # decimals have no SQL type here: a Parquet blob even in a SQL store
        return pd.DataFrame({"x": [decimal.Decimal("1.5")]})

    @skipwise.cached(store=store)
    def settings():
        return {"label": "n"}

    @skipwise.cached(store=store, input_type=sa.Table)
    def query(data, options):
        return options["label"]

    stored = Ref(blob.run().signature, store)
    for given in (blob(), stored):
        with pytest.raises(skipwise.ArgumentError, match=r"query: input 'data': input_type=sa"):
            query(given, settings())
    # A stored result that is no table is loaded and passed as it is; so is any other value.
    assert query(None, Ref(settings.run().signature, store)) == "n"
