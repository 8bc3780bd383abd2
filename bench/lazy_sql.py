"""A lazy SQL join vs loading both tables into pandas and merging, in the same run.

Two stored tables of 1,000,000 rows each (orders: id, customer, amount; customers: customer,
region, score) are joined on ``customer`` (1,000,000 result rows), each way computed afresh
every round (``force=True``):

(a) lazy: ``@skipwise.cached(lazy=True)`` returns the join as a SQLAlchemy ``Select``; the
    store runs ``CREATE TABLE ... AS SELECT`` in PostgreSQL and reads the new table back once
    (COPY) for its checksum.
(b) pandas, stored: the same step as a plain ``@skipwise.cached`` function: both tables loaded
    (COPY, checksums verified), ``DataFrame.merge``, the result stored (COPY, read back).
(c) pandas, not stored: ``store.load`` both and ``merge``, nothing written: the floor of any
    pandas way.

Rounds alternate (a, b, c), medians are compared. CPU is this process's CPU time, and the
database backend's (read from /proc for the store's connections; parallel query is turned off
so that the backend does all of the database's work).

Run: ``.venv/bin/python bench/lazy_sql.py [--rows N] [--rounds R]``. Needs PostgreSQL on
127.0.0.1:5432 (user postgres, trust auth); creates and drops its own database.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.stores helpers

import numpy as np
import pandas as pd
import psycopg
import sqlalchemy as sa

import skipwise
from skipwise.store import open_store
from tests.stores.conftest import PG_ADMIN

TICK = os.sysconf("SC_CLK_TCK")


@skipwise.cached(lazy=True, name="bench.lazy_join")
def lazy_join(orders: sa.Table, customers: sa.Table) -> sa.Select:
    return sa.select(orders.c.id, orders.c.amount, customers.c.region, customers.c.score).join_from(
        orders, customers, orders.c.customer == customers.c.customer
    )


@skipwise.cached(name="bench.pandas_join")
def pandas_join(orders: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    return orders.merge(customers, on="customer")[["id", "amount", "region", "score"]]


def tables(rows: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(0)
    orders = pd.DataFrame(
        {
            "id": np.arange(rows, dtype="int64"),
            "customer": rng.integers(0, rows, rows),
            "amount": rng.random(rows) * 100,
        }
    )
    customers = pd.DataFrame(
        {
            "customer": rng.permutation(rows).astype("int64"),
            "region": pd.array([f"region-{i % 50}" for i in range(rows)], dtype="str"),
            "score": rng.random(rows),
        }
    )
    return orders, customers


def backend_cpu(database: str) -> float:
    """CPU seconds used so far by the database's backends (other than this query's)."""
    conninfo = PG_ADMIN.replace("dbname=test", f"dbname={database}")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        pids = [
            pid
            for (pid,) in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            )
        ]
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICK


def measured(fn: Callable[[], object], database: str) -> tuple[float, float, float]:
    """Wall seconds, this process's CPU seconds, the database backends' CPU seconds."""
    db_before, cpu_before, started = backend_cpu(database), time.process_time(), time.perf_counter()
    fn()
    wall = time.perf_counter() - started
    return wall, time.process_time() - cpu_before, backend_cpu(database) - db_before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    database = f"skipwise_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    try:
        url = (
            f"postgresql://postgres@127.0.0.1:5432/{database}"
            "?options=-c%20max_parallel_workers_per_gather%3D0"
        )
        store = open_store(url)
        skipwise.configure(store=store)
        orders, customers = tables(options.rows)
        refs = []
        for signature, name, frame in (
            ("a" * 64, "orders", orders),
            ("b" * 64, "customers", customers),
        ):
            manifest = store.save(
                signature, frame, codec="pandas", name=f"bench.{name}", tree={}, producer={}
            )
            assert manifest.data.startswith("sw_"), f"{name} should be a table"
            refs.append(skipwise.Ref(signature, store))

        def lazy() -> None:
            outcome = lazy_join.run(*refs, force=True)
            assert outcome.status is skipwise.Status.COMPUTED

        def stored_pandas() -> None:
            outcome = pandas_join.run(*refs, force=True)
            assert outcome.status is skipwise.Status.COMPUTED

        def plain_pandas() -> None:
            loaded = [store.load(store.manifest(ref.signature)) for ref in refs]
            pandas_join.fn(*loaded)

        ways = {
            "lazy SQL": lazy,
            "pandas, stored": stored_pandas,
            "pandas, not stored": plain_pandas,
        }
        lazy(), stored_pandas()  # warm-up: first writes, imports
        runs: dict[str, list[tuple[float, float, float]]] = {way: [] for way in ways}
        for _ in range(options.rounds):
            for way, fn in ways.items():
                runs[way].append(measured(fn, database))
        joined = store.load(store.manifest(lazy_join.signature(*refs)))
        merged = pandas_join.fn(orders, customers)
        key = ["id"]
        assert (
            joined.sort_values(key)
            .reset_index(drop=True)
            .equals(merged.sort_values(key).reset_index(drop=True))
        ), "the lazy join differs from the pandas merge"
        print(
            f"join of two {options.rows:,}-row stored tables on PostgreSQL "
            f"({len(joined):,} result rows), medians of {options.rounds} alternating rounds:"
        )
        medians = {
            way: [statistics.median(r[i] for r in runs[way]) for i in range(3)] for way in ways
        }
        for way, (wall, cpu, db) in medians.items():
            print(f"  {way:<20} wall {wall:6.2f} s   cpu {cpu:6.2f} s   database cpu {db:6.2f} s")
        lazy_wall = medians["lazy SQL"][0]
        for way in ("pandas, stored", "pandas, not stored"):
            print(f"  lazy SQL vs {way}: {lazy_wall / medians[way][0]:.2f}x wall")
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


if __name__ == "__main__":
    main()
