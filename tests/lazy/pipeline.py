"""A small table pipeline: two pandas sources, a lazy join, a lazy RawSql script, a pandas
report. ``CALLS`` records which bodies ran."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

import skipwise

CALLS: list[str] = []
ROWS = {"n": 6}  # how many orders the source makes


def make_orders(n: int) -> pd.DataFrame:
    ids = range(n)
    return pd.DataFrame(
        {"id": ids, "customer": [i % 3 for i in ids], "amount": [i * 1.5 for i in ids]}
    )


def make_customers() -> pd.DataFrame:
    return pd.DataFrame({"customer": [0, 1, 2], "name": ["ann", "bob", "cy"]})


@skipwise.cached
def orders(n: int) -> pd.DataFrame:
    CALLS.append("orders")
    return make_orders(n)


@skipwise.cached
def customers() -> pd.DataFrame:
    CALLS.append("customers")
    return make_customers()


@skipwise.cached(lazy=True)
def joined(orders: sa.Table, customers: sa.Table, minimum: float = 2.0) -> sa.Select:
    CALLS.append("joined")
    return (
        sa.select(orders.c.id, orders.c.amount, customers.c.name)
        .join_from(orders, customers, orders.c.customer == customers.c.customer)
        .where(orders.c.amount > minimum)
        .order_by(orders.c.id)
    )


@skipwise.cached(lazy=True)
def totals(joined: sa.Table) -> skipwise.RawSql:
    CALLS.append("totals")
    return skipwise.RawSql(
        f"CREATE TABLE {{target}} AS SELECT name, sum(amount) AS total FROM {joined} "
        "GROUP BY name ORDER BY name; "
        "UPDATE {target} SET total = total * 2"
    )


@skipwise.cached
def report(totals: pd.DataFrame) -> dict[str, float]:
    CALLS.append("report")
    return dict(zip(totals["name"], totals["total"], strict=True))


def run(minimum: float = 2.0) -> dict[str, float]:
    """The pipeline in plain Python."""
    table = joined(orders(ROWS["n"]), customers(), minimum)
    return report(totals(table))


def expected(minimum: float = 2.0) -> dict[str, float]:
    """What ``run`` must give, computed in pandas."""
    frame = make_orders(ROWS["n"]).merge(make_customers(), on="customer")
    frame = frame[frame["amount"] > minimum]
    return {name: 2 * total for name, total in frame.groupby("name")["amount"].sum().items()}


@skipwise.cached(lazy=True)
def slow_copy(orders: sa.Table) -> sa.TextClause:
    """A query that takes a second (PostgreSQL): long enough for callers to meet."""
    return sa.text(f"SELECT o.*, (SELECT 1 FROM pg_sleep(1)) AS slept FROM {orders} AS o")


if __name__ == "__main__":  # a worker: python -m tests.lazy.pipeline STORE SIGNATURE
    import sys

    skipwise.configure(store=sys.argv[1])
    outcome = slow_copy.run(skipwise.Ref(sys.argv[2]))
    print(outcome.status.value)
