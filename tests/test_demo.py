"""The README demo, run as `make demo` runs it: in plain Python, Dagster and Airflow, cold
computes all, warm reuses all (no callable runs), an edited helper reruns only its dependants."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parents[1] / "dags" / "demo.py"


def test_demo_reruns_exactly_the_dependants_of_the_edited_helper() -> None:
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("SKIPWISE_STORE", None)
    result = subprocess.run([sys.executable, str(DEMO)], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "after the edit, reran: taxi.time_features, taxi.model, taxi.metrics" in out
    assert "dependency taxi.helpers:is_rush_hour changed" in out  # plan, before running
    for step in ("taxi.trips", "taxi.cleaned", "taxi.fare_features"):
        row = next(
            line
            for line in out.splitlines()
            if line.startswith(f"│ {step} ") and "computed" in line
        )
        assert row.count("reused") == 2 and row.count("computed") == 1, row
    # Dagster, on the store the plain-Python runs filled: everything reused, then a second edit.
    dagster_rows = [line for line in out.splitlines() if line.startswith("│ taxi/")]
    assert len(dagster_rows) == 6
    assert all(row.split("│")[2].strip() == "reused" for row in dagster_rows)
    assert (
        "in Dagster, after the second edit, recomputed: taxi/time_features, taxi/model, taxi/metrics"
        in out
    )
    # Airflow (`airflow dags test`): the same, counted in callables that ran.
    assert re.search(r"callables run\s*│\s*6 of 6\s*│\s*0 of 6\s*│\s*3 of 6", out)
    assert "in Airflow, after the edit, reran: time_features, model, metrics" in out
    assert re.search(
        r"│ time_features │ rerun\s*│ dependency taxi.helpers:is_rush_hour changed", out
    )
