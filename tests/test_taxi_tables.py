"""The table-first example (dags/taxi_tables.py) runs as its docstring says, in fresh
processes on a SQLite store: cold, all reused, the mini instance (smaller trips, its own
names), and after the external zones table changes, only what reads it reruns."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

EXAMPLE = Path(__file__).resolve().parent.parent / "dags" / "taxi_tables.py"
STEPS = ("trips", "zones", "trips_by_borough", "borough_fares")


def _run(tmp_path: Path, *args: str) -> dict[str, str]:
    env = {**os.environ, "TAXI_ZONES_DB": f"sqlite:///{tmp_path / 'zones.db'}"}
    env.pop("SKIPWISE_INSTANCE", None)
    store = f"sqlite:///{tmp_path / 'store.db'}"
    result = subprocess.run(
        [sys.executable, str(EXAMPLE), store, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line.split(": ") for line in result.stdout.splitlines() if line.startswith("taxi_")]
    return {name.removeprefix("taxi_tables."): status for name, status in lines}


def test_the_table_first_example(tmp_path: Path) -> None:
    assert _run(tmp_path) == dict.fromkeys(STEPS, "computed")
    assert _run(tmp_path) == dict.fromkeys(STEPS, "reused")
    # mini derives fewer trips: what depends on them computes; the zones are shared
    mini = _run(tmp_path, "mini")
    assert mini == {**dict.fromkeys(STEPS, "computed"), "zones": "reused"}
    assert _run(tmp_path, "mini") == dict.fromkeys(STEPS, "reused")
    with sa.create_engine(f"sqlite:///{tmp_path / 'zones.db'}").begin() as conn:
        conn.exec_driver_sql("UPDATE zones SET borough = 'Harlem', updated_at = '2026-02-01'")
    assert _run(tmp_path) == {**dict.fromkeys(STEPS, "computed"), "trips": "reused"}
