"""Step bodies the Airflow and Dagster lazy-SQL tests share (``minipipe/tables.py`` in both
hosts' test projects): two pandas sources, a lazy join, a lazy RawSql script and a pandas
report. Each body logs its call (``minipipe.counter``)."""

TABLES = """
import pandas as pd
import sqlalchemy as sa

import skipwise
from minipipe.counter import record

def orders(n: int = 40):
    record("orders")
    ids = range(n)
    return pd.DataFrame({"id": ids, "customer": [i % 3 for i in ids], "amount": [i * 1.5 for i in ids]})

def customers():
    record("customers")
    return pd.DataFrame({"customer": [0, 1, 2], "name": ["ann", "bob", "cy"]})

def joined(orders, customers, minimum: float = 2.0):
    record("joined")
    return (
        sa.select(orders.c.id, orders.c.amount, customers.c.name)
        .join_from(orders, customers, orders.c.customer == customers.c.customer)
        .where(orders.c.amount > minimum)
    )

def totals(joined):
    record("totals")
    return skipwise.RawSql(
        f"CREATE TABLE {{target}} AS SELECT name, sum(amount) AS total FROM {joined} GROUP BY name"
    )

def report(totals):
    record("report")
    return {name: float(total) for name, total in zip(totals["name"], totals["total"])}
"""
# Edits that change the join's query: a new threshold.
NEW_MINIMUM = ("minimum: float = 2.0", "minimum: float = 30.0")


def expected(n: int = 40, minimum: float = 2.0) -> dict[str, float]:
    """What ``report`` must give."""
    names = ["ann", "bob", "cy"]
    totals: dict[str, float] = {}
    for i in range(n):
        if i * 1.5 > minimum:
            totals[names[i % 3]] = totals.get(names[i % 3], 0.0) + i * 1.5
    return totals
