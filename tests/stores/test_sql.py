"""SQL specifics: DataFrames as real tables with views, blobs for the rest, bulk COPY."""

from __future__ import annotations

import uuid
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from skipwise import configure
from skipwise.config import current_store
from skipwise.store import open_store
from skipwise.store.sql import BLOB, SQLStore
from tests.stores import workers


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return f"{request.getfixturevalue('pg_database')}?schema=t_{uuid.uuid4().hex[:12]}"


def query(store: SQLStore, sql: str) -> list[tuple]:
    with store._db().connect() as conn:
        return [tuple(row) for row in conn.exec_driver_sql(sql)]


def test_frames_are_tables_with_a_view_on_the_latest(sql_url: str) -> None:
    configure(store=sql_url)
    first = workers.table.run(5)
    store = current_store()
    assert isinstance(store, SQLStore)
    assert first.manifest.data.startswith("sw_stores_table_")
    view = query(store, "SELECT view FROM " + _meta(store, "skipwise_names"))[0][0]
    prefix = f"{store.schema}." if store.schema else ""
    rows = query(store, f'SELECT n, label, half FROM {prefix}"{view}" ORDER BY n')
    assert rows == [(i, f"row {i}", i / 2) for i in range(5)]
    workers.table(3)  # the name moves on: its view follows
    assert query(store, f'SELECT count(*) FROM {prefix}"{view}"') == [(3,)]
    assert query(store, f"SELECT count(*) FROM {prefix}{first.manifest.data}") == [(5,)]


def _meta(store: SQLStore, table: str) -> str:
    return f"{store.schema}.{table}" if store.schema else table


def test_frames_a_table_cannot_hold_exactly_are_blobs(sql_url: str) -> None:
    store = open_store(sql_url)
    assert isinstance(store, SQLStore)
    exotic = {
        "category": (pd.DataFrame({"c": pd.Categorical(["a", "b", "a"])}), True),
        # PostgreSQL keeps microseconds: the read-back check sends the frame to a blob.
        "nanoseconds": (pd.DataFrame({"t": pd.to_datetime([1, 2, 3], unit="ns")}), store.postgres),
        "series": (pd.Series([1, 2, 3], name="s"), True),
    }
    for i, (label, (value, blob)) in enumerate(exotic.items()):
        signature = f"{i:02x}" * 32
        manifest = store.save(signature, value, codec="pandas", name=label, tree={}, producer={})
        assert (manifest.data == BLOB) == blob, label
        assert store.load(store.manifest(signature)).equals(value)
    manifest = store.save("ff" * 32, b"raw", codec="bytes", name="raw", tree={}, producer={})
    assert manifest.data == BLOB
    assert store.load(manifest) == b"raw"


def test_frame_round_trip_is_exact(sql_url: str) -> None:
    frame = pd.DataFrame(
        {
            "i": pd.array([1, None, 3], dtype="Int64"),
            "f": [1.5, float("nan"), float("inf")],
            "s": ["a", None, ""],
            "b": [True, False, True],
            "t": pd.to_datetime(
                ["2024-01-01 12:00:00.123456", "NaT", "1999-12-31 00:00:00.000000"]
            ),
            "tz": pd.to_datetime(["2024-03-31 01:30"] * 3).tz_localize("Europe/Paris"),
            "d": [pd.Timestamp("2024-02-29").date()] * 3,
        },
        index=pd.Index(["x", "y", "z"], name="key"),
    )
    store = open_store(sql_url)
    manifest = store.save("ab" * 32, frame, codec="pandas", name="exact", tree={}, producer={})
    assert manifest.data != BLOB
    pd.testing.assert_frame_equal(store.load(manifest), frame, check_exact=True)


def test_postgres_bulk_loads_with_copy(pg_database: str) -> None:
    store = open_store(f"{pg_database}?schema=copy_check")
    assert isinstance(store, SQLStore)
    statements: list[str] = []
    sa.event.listen(store._db(), "before_cursor_execute", lambda *args: statements.append(args[2]))
    store.save("cd" * 32, workers.frame(5000), codec="pandas", name="bulk", tree={}, producer={})
    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT")]
    assert all("skipwise_" in s for s in inserts)  # metadata rows only; data went by COPY
    assert len(inserts) == 1
