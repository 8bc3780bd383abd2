"""What PostgreSQL itself counts for a schema's tables: the proof that a run executed no query.

A backend publishes its table statistics when it exits (or some seconds after going idle), so
the counts are read after the database's other backends (the store's pooled connections,
all of this test's own scratch database) are ended and gone.
"""

from __future__ import annotations

import time
from typing import Any

import psycopg

from tests.stores.servers import PG_ADMIN


def table_stats(database: str, schema: str) -> dict[str, tuple[int, int, int]]:
    """``{table: (seq_scan, idx_scan, n_tup_ins)}`` of ``schema``'s tables in ``database``."""
    conninfo = PG_ADMIN.replace("dbname=test", f"dbname={database}")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        others = (
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
        conn.execute(f"SELECT pg_terminate_backend(pid) FROM ({others}) AS o")
        deadline = time.monotonic() + 30
        while conn.execute(others).fetchall():
            if time.monotonic() > deadline:
                raise TimeoutError(f"backends of {database} did not exit")
            time.sleep(0.05)
        conn.execute("SELECT pg_stat_clear_snapshot()")
        rows = conn.execute(
            "SELECT relname, seq_scan, coalesce(idx_scan, 0), n_tup_ins "
            "FROM pg_stat_user_tables WHERE schemaname = %s",
            (schema,),
        ).fetchall()
    return {name: (seq, idx, inserted) for name, seq, idx, inserted in rows}


def result_tables(stats: dict[str, tuple[int, int, int]]) -> dict[str, tuple[int, int, int]]:
    """The stats of skipwise's result tables (``sw_...``), not of its own bookkeeping."""
    return {name: counts for name, counts in stats.items() if name.startswith("sw_")}


def database_stats(store: Any) -> dict[str, tuple[int, int, int]]:
    """:func:`result_tables` of a PostgreSQL store's schema; {} for SQLite, which keeps no
    statistics (there the bodies' call logs and the stores' contents are the proof)."""
    if not store.postgres:
        return {}
    return result_tables(table_stats(store._target.database, store.schema))
