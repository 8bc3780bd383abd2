"""The demo's Dagster phase: on the store the plain-Python runs filled, the Dagster assets
reuse everything; after a second helper edit only its dependants recompute."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from rich.console import Console

DAGS = Path(__file__).resolve().parents[2] / "dags"


def test_dagster_phase_of_the_demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SKIPWISE_STORE")  # the embedded default, .skipwise/ in the folder
    monkeypatch.syspath_prepend(str(DAGS))
    import demo
    import demo_dagster

    shutil.copytree(DAGS / "taxi", tmp_path / "taxi", ignore=shutil.ignore_patterns("__pycache__"))
    assert {step["status"] for step in demo.run_pipeline(tmp_path)} == {"computed"}
    output = io.StringIO()
    reran = demo_dagster.run(tmp_path, Console(file=output, width=200))
    assert reran == ["taxi/time_features", "taxi/model", "taxi/metrics"]
    rows = [line for line in output.getvalue().splitlines() if line.startswith("│ taxi/")]
    assert len(rows) == 6 and all(row.split("│")[2].strip() == "reused" for row in rows)
    assert "dependency taxi.helpers:MORNING_RUSH changed" in output.getvalue()
