"""The README demo: cold computes all, warm reuses all, an edited helper reruns its dependants."""

from __future__ import annotations

import os
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
