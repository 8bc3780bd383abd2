"""The taxi pipeline, table-first: results live as tables in a SQL store, and one stage runs
inside the database. Uses the four table features of docs/tables.md together:

- a lazy SQL task (``lazy=True``): the join of trips and zones is a query the database runs;
- a task that chooses its input type (``input_type=pl.DataFrame``): polars, whatever was stored;
- a fresh external input (``fresh=``): the zones table of a "production" database skipwise
  does not manage, signed by its row count and latest update;
- pipeline instances: ``mini`` derives smaller trips and keeps its own names and views.

Run: ``python dags/taxi_tables.py [STORE_URL] [INSTANCE]`` (default: a SQLite store in
``.skipwise/taxi_tables.db`` and the unnamed instance). Twice in a row, the second run reuses
every step and the database runs no query; after a new row in the zones table, only the steps
that read it rerun.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pandas as pd
import polars as pl
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

import skipwise
from skipwise import fresh
from taxi import steps

HERE = Path(__file__).resolve().parent
# The "production" source: a table another system keeps up to date.
ZONES_DB = os.environ.get(
    "TAXI_ZONES_DB", f"sqlite:///{HERE.parent / '.skipwise' / 'zones_source.db'}"
)

MINI = skipwise.Instance(
    "mini", derive={"taxi_tables.trips": lambda args: {"n_trips": min(int(args["n_trips"]), 500)}}
)


ZONES = 10  # pickup zones: bands of latitude


@skipwise.cached(name="taxi_tables.trips")
def trips(n_trips: int) -> pd.DataFrame:
    cleaned = steps.clean(steps.make_trips(n_trips))
    lat, lon = cleaned["pickup_lat"], cleaned["pickup_lon"]
    km = steps.haversine_km(lat, lon, cleaned["dropoff_lat"], cleaned["dropoff_lon"])
    zone = ((lat - 40.65) * 50).astype(int).clip(0, ZONES - 1)
    return pd.DataFrame(
        {"trip_id": range(len(cleaned)), "km": km, "fare": cleaned["fare"], "zone": zone}
    )


@skipwise.cached(name="taxi_tables.zones", fresh=fresh.sql_table(ZONES_DB, "zones", "updated_at"))
def zones() -> pd.DataFrame:
    with sa.create_engine(ZONES_DB).connect() as conn:
        return pd.read_sql("SELECT zone, borough FROM zones", conn)


@skipwise.cached(name="taxi_tables.trips_by_borough", lazy=True)
def trips_by_borough(trips: sa.Table, zones: sa.Table) -> sa.Select:
    return sa.select(trips.c.trip_id, trips.c.km, trips.c.fare, zones.c.borough).join_from(
        trips, zones, trips.c.zone == zones.c.zone
    )


@skipwise.cached(name="taxi_tables.borough_fares", input_type=pl.DataFrame)
def borough_fares(trips_by_borough: pl.DataFrame) -> pl.DataFrame:
    return (
        trips_by_borough.group_by("borough")
        .agg(pl.col("fare").sum().alias("fares"), pl.col("km").sum().alias("km"))
        .with_columns((pl.col("fares") / pl.col("km")).alias("per_km"))
        .sort("borough")
    )


def make_zones_source(url: str = ZONES_DB) -> None:
    """The external zones table, if it is not there yet."""
    Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    with sa.create_engine(url).begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE IF NOT EXISTS zones (zone INTEGER PRIMARY KEY, borough TEXT, "
            "updated_at TEXT)"
        )
        if not conn.exec_driver_sql("SELECT count(*) FROM zones").scalar():
            boroughs = ["Bronx", "Brooklyn", "Manhattan", "Queens", "Staten Island"]
            conn.exec_driver_sql(
                "INSERT INTO zones VALUES (?, ?, '2026-01-01')",
                [(zone, boroughs[zone % len(boroughs)]) for zone in range(ZONES)],
            )


def run(n_trips: int = 20_000) -> list[tuple[str, str]]:
    """Run every step; what each did (reused or computed), in order."""
    done = []
    raw = trips.run(n_trips)
    done.append((trips.name, raw.status))
    source = zones.run()
    done.append((zones.name, source.status))
    joined = trips_by_borough.run(raw.value, source.value)
    done.append((trips_by_borough.name, joined.status))
    fares = borough_fares.run(joined.value)
    done.append((borough_fares.name, fares.status))
    print(skipwise.load(fares.value))
    return done


if __name__ == "__main__":
    store = (
        sys.argv[1]
        if len(sys.argv) > 1
        else f"sqlite:///{HERE.parent / '.skipwise' / 'taxi_tables.db'}"
    )
    Path(HERE.parent / ".skipwise").mkdir(exist_ok=True)
    skipwise.configure(store=store, instance=sys.argv[2] if len(sys.argv) > 2 else None)
    make_zones_source()
    for name, status in run():
        print(f"{name}: {status}")
