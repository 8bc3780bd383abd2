"""Pipeline instances on every backend (local, S3 on moto, SQLite, PostgreSQL): each instance
keeps its own pointers (and, in SQL stores, its own views in its own schema), while results
stay content-addressed: a signature computed in one instance is served to the others."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import psycopg
import pytest

import skipwise
from skipwise import config, gc
from skipwise.errors import InvalidInstance
from tests.stores.servers import scratch_database

PIPELINE = """
import pandas as pd
import skipwise

CALLS = []

@skipwise.cached(name="taxi.trips")
def trips(limit: int = 40):
    CALLS.append(("trips", limit))
    return pd.DataFrame({"trip": range(limit), "km": [float(i % 7) for i in range(limit)]})

@skipwise.cached(name="features")
def features(trips):
    CALLS.append(("features", len(trips)))
    return trips.assign(long=trips["km"] > 3)

@skipwise.cached(name="zones")
def zones():
    CALLS.append(("zones", None))
    return pd.DataFrame({"zone": [1, 2, 3]})

def run():
    return features(trips()), zones()

mini = skipwise.Instance("mini", derive={"taxi.trips": lambda args: {"limit": args["limit"] // 8}})
"""


def _run_in(pipeline, instance: str) -> list[tuple[str, int | None]]:
    """Run the pipeline in ``instance`` ("" the unnamed one); the bodies that ran."""
    config.configure(instance=instance)
    pipeline.CALLS.clear()
    pipeline.run()
    return sorted(pipeline.CALLS, key=str)


def test_instances_keep_their_own_pointers_and_share_signatures(store_url, make_module) -> None:
    skipwise.configure(store=store_url)
    store = config.current_store()
    pipeline = make_module("pipeline_instances", PIPELINE)

    assert _run_in(pipeline, "") == [("features", 40), ("trips", 40), ("zones", None)]
    unnamed = {p.name: p.signature for p in store.pointers("")}
    assert set(unnamed) == {"taxi.trips", "features", "zones"}

    # full derives nothing: every signature is the unnamed instance's, served, not recomputed.
    assert _run_in(pipeline, "full") == []
    full = {p.name: p.signature for p in store.pointers("full")}
    assert full == unnamed

    # mini derives a smaller input: trips and what reads it are its own; zones is shared.
    assert _run_in(pipeline, "mini") == [("features", 5), ("trips", 5)]
    mini = {p.name: p.signature for p in store.pointers("mini")}
    assert mini["zones"] == full["zones"]
    assert mini["taxi.trips"] != full["taxi.trips"]
    assert mini["features"] != full["features"]
    assert _run_in(pipeline, "mini") == []  # and mini's own results are reused too

    # Nobody overwrote anybody: full's and the unnamed instance's pointers are as they were.
    assert {p.name: p.signature for p in store.pointers("full")} == full
    assert {p.name: p.signature for p in store.pointers("")} == unnamed
    assert store.pointer("features", "full").history == ()
    assert {(p.instance, p.name) for p in store.pointers()} == {
        (instance, name) for instance in ("", "full", "mini") for name in full
    }
    # One entry per signature: full added no entries, mini two.
    assert len(list(store.manifests())) == 5

    # gc keeps the latest result of every instance.
    report = gc.plan_collection(store, gc.Policy(keep_latest=1))
    kept = {m.signature for m in report.keep}
    assert kept >= set(full.values()) | set(mini.values())
    assert report.drop == []


def test_a_new_result_moves_only_its_own_instances_pointer(store_url, make_module) -> None:
    skipwise.configure(store=store_url)
    store = config.current_store()
    pipeline = make_module("pipeline_moves", PIPELINE)
    _run_in(pipeline, "full")
    before = store.pointer("taxi.trips", "full")
    config.configure(instance="dev")
    pipeline.trips(limit=12)
    assert store.pointer("taxi.trips", "dev").signature != before.signature
    assert store.pointer("taxi.trips", "full") == before
    assert store.pointer("taxi.trips", "") is None


def test_hostile_instance_names_never_reach_the_store(store_url) -> None:
    skipwise.configure(store=store_url)
    store = config.current_store()
    signature = "a" * 64
    for bad in ("../names", "x/../../y", "Mini", "mini; DROP TABLE x", "a" * 31, "pg_catalog"):
        with pytest.raises(InvalidInstance, match="invalid instance"):
            store.set_pointer("features", signature, bad)
        with pytest.raises(InvalidInstance, match="invalid instance"):
            store.pointer("features", bad)
    assert list(store.pointers()) == []


def test_a_planted_pointer_with_a_bad_instance_is_skipped(tmp_path: Path, caplog) -> None:
    root = tmp_path / "store"
    store = skipwise.open_store(root)
    store.set_pointer("features", "b" * 64, "mini")
    planted = root / "names" / "@Bad Name"
    planted.mkdir()
    (planted / "features.json").write_bytes((root / "names/@mini/features.json").read_bytes())
    assert [(p.instance, p.name) for p in store.pointers()] == [("mini", "features")]
    assert "invalid name '@Bad Name/features'" in caplog.text


# --- SQL: a schema per instance and stage ----------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_store(request, tmp_path: Path) -> Iterator[str]:
    """A SQL store alone in its database: instance schemas are database-wide."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    with scratch_database("skipwise_instances") as name:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"


def _query(url: str, sql: str) -> list[tuple]:
    """Rows of ``sql`` as an analyst would run it: the database's own client, not skipwise."""
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            return conn.execute(sql).fetchall()
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


def test_sql_views_per_instance_over_shared_tables(sql_store: str, make_module) -> None:
    skipwise.configure(store=sql_store)
    pipeline = make_module("pipeline_views", PIPELINE)
    _run_in(pipeline, "full")
    _run_in(pipeline, "mini")
    postgres = sql_store.startswith("postgresql")
    # PostgreSQL: schema <instance>[_<stage>] ("full" is an SQL keyword there: quoted);
    # SQLite: the schema as a prefix.
    view = (lambda schema, name: f'"{schema}".{name}') if postgres else "{}__{}".format
    count = "SELECT count(*) FROM {}"
    assert _query(sql_store, count.format(view("full", "features"))) == [(40,)]
    assert _query(sql_store, count.format(view("mini", "features"))) == [(5,)]
    assert _query(sql_store, count.format(view("full_taxi", "trips"))) == [(40,)]
    assert _query(sql_store, count.format(view("mini_taxi", "trips"))) == [(5,)]
    assert _query(sql_store, count.format(view("mini", "zones"))) == [(3,)]
    if postgres:  # as an analyst types it
        assert _query(sql_store, "SELECT count(*) FROM mini.features") == [(5,)]
    rows = _query(sql_store, f"SELECT trip, km, long FROM {view('mini', 'features')} ORDER BY trip")
    assert [row[0] for row in rows] == [0, 1, 2, 3, 4]

    # The data is stored once per signature: five results, five tables (zones is shared).
    if postgres:
        tables = _query(
            sql_store,
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'skipwise' "
            "AND table_type = 'BASE TABLE' AND table_name LIKE 'sw\\_%'",
        )
    else:
        tables = _query(
            sql_store, "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'sw_%'"
        )
    assert len(tables) == 5

    # A new full result moves full's views only.
    config.configure(instance="full")
    pipeline.features(pipeline.trips(limit=24))
    assert _query(sql_store, count.format(view("full", "features"))) == [(24,)]
    assert _query(sql_store, count.format(view("mini", "features"))) == [(5,)]

    # Removing a shared result removes every instance's view of it, and nothing else.
    store = config.current_store()
    store.delete(store.pointer("zones", "mini").signature)
    for schema in ("mini", "full"):
        with pytest.raises((sqlite3.OperationalError, psycopg.errors.UndefinedTable)):
            _query(sql_store, count.format(view(schema, "zones")))
    assert _query(sql_store, count.format(view("mini", "features"))) == [(5,)]


def test_an_instance_never_replaces_a_table_it_did_not_make(sql_store: str, make_module) -> None:
    skipwise.configure(store=sql_store)
    postgres = sql_store.startswith("postgresql")
    mine = "mini.zones" if postgres else "mini__zones"
    if postgres:
        with psycopg.connect(sql_store) as conn:
            conn.execute("CREATE SCHEMA mini")
            conn.execute("CREATE TABLE mini.zones (precious int)")
            conn.execute("INSERT INTO mini.zones VALUES (7)")
    else:
        with sqlite3.connect(sql_store.removeprefix("sqlite:///")) as conn:
            conn.execute("CREATE TABLE mini__zones (precious int)")
            conn.execute("INSERT INTO mini__zones VALUES (7)")
    pipeline = make_module("pipeline_taken", PIPELINE)
    _run_in(pipeline, "mini")
    assert _query(sql_store, f"SELECT * FROM {mine}") == [(7,)]
    assert config.current_store().pointer("zones", "mini") is not None
    frame = pipeline.zones()
    assert isinstance(frame, pd.DataFrame) and list(frame["zone"]) == [1, 2, 3]
