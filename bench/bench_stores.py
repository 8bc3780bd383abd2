"""Shared stores, each ratio measured in this run.

(b) S3 (a local moto server): status of 1,000 signatures (half stored) with the store's
    batched ``exists_many`` vs one HEAD request per signature. Target: batched faster.
(c) PostgreSQL: write and read a 1-million-row DataFrame through the store (COPY, checksummed,
    read back before commit) vs ``DataFrame.to_sql`` / ``pandas.read_sql``.
    Target: store write faster than ``to_sql``.

Run: ``.venv/bin/python bench/bench_stores.py [--rows N] [--skip-s3] [--skip-sql]``.
Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.stores helpers

import numpy as np
import pandas as pd
import psycopg
import sqlalchemy as sa
from _common import best_of, report

from skipwise.store import FilesystemStore, open_store
from tests.stores.conftest import PG_ADMIN, new_bucket
from tests.stores.servers import aws_environment, moto_server

SIGNATURES = 1_000


def bench_s3() -> None:
    with moto_server() as endpoint:
        os.environ.update(aws_environment(endpoint))
        store = open_store(f"s3://{new_bucket(endpoint)}/cache")
        assert isinstance(store, FilesystemStore)
        signatures = [uuid.uuid4().hex * 2 for _ in range(SIGNATURES)]
        for signature in signatures[::2]:
            store.save(signature, [1], codec="json", name="bench", tree={}, producer={})
        sent: list[str] = []
        store.fs.s3.meta.events.register("before-send.s3", lambda request, **_: sent.append(""))
        bucket, _, prefix = store.root.partition("/")

        def one_head_each() -> set[str]:
            found = set()
            for signature in signatures:
                key = f"{prefix}/objects/{signature[:2]}/{signature}/manifest.json"
                try:
                    store.fs.call_s3("head_object", Bucket=bucket, Key=key)
                    found.add(signature)
                except FileNotFoundError:
                    pass
            return found

        assert one_head_each() == store.exists_many(signatures) == set(signatures[::2])
        sent.clear()
        batched = best_of(lambda: store.exists_many(signatures), repeat=3)
        batched_requests = len(sent) // 3
        sent.clear()
        heads = best_of(one_head_each, repeat=3)
        head_requests = len(sent) // 3
        print(f"S3 requests for {SIGNATURES} signatures: {batched_requests} vs {head_requests}")
        report(
            f"S3 status of {SIGNATURES} signatures, batched vs one HEAD each", batched, heads, 1.0
        )


def frame(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame(
        {
            "id": np.arange(rows, dtype=np.int64),
            "value": rng.random(rows),
            "label": pd.Series(rng.integers(0, 1000, rows)).map("item-{}".format),
            "at": pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(rows), unit="s"),
        }
    )


def timed(fn) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def bench_postgres(rows: int) -> None:
    database = f"skipwise_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    url = f"postgresql://postgres@127.0.0.1:5432/{database}"
    engine = sa.create_engine(url.replace("postgresql:", "postgresql+psycopg:"))
    try:
        data = frame(rows)
        store = open_store(url)
        write, manifest = timed(
            lambda: store.save(
                "ab" * 32, data, codec="pandas", name="bench.frame", tree={}, producer={}
            )
        )
        assert manifest.data.startswith("sw_"), "the frame should be a table"
        to_sql, _ = timed(lambda: data.to_sql("plain", engine, index=False))
        read, back = timed(lambda: store.load(store.manifest("ab" * 32)))
        assert back.equals(data)
        read_sql, _ = timed(lambda: pd.read_sql("SELECT * FROM plain", engine))
        report(f"PostgreSQL write of {rows:,} rows, store vs to_sql", write, to_sql, 1.0)
        report(f"PostgreSQL read of {rows:,} rows, store vs read_sql", read, read_sql, None)
    finally:
        engine.dispose()
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--skip-s3", action="store_true")
    parser.add_argument("--skip-sql", action="store_true")
    options = parser.parse_args()
    if not options.skip_s3:
        bench_s3()
    if not options.skip_sql:
        bench_postgres(options.rows)


if __name__ == "__main__":
    main()
