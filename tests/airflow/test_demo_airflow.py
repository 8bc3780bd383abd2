"""The README demo's Airflow phase (dags/demo_airflow.py): ``airflow dags test`` on the taxi DAG
cold (every callable runs), warm (none does) and after editing one helper (its dependants)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from tests.airflow.conftest import ROOT


def test_cold_warm_and_edited_dag_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture
) -> None:
    monkeypatch.syspath_prepend(str(ROOT / "dags"))
    import demo
    import demo_airflow

    console = Console(record=True, width=200)
    reran = demo_airflow.run(tmp_path, console, demo.edit_helper)
    assert reran == ["time_features", "model", "metrics"]
    rows = {
        line.split("│")[1].strip(): [cell.strip() for cell in line.split("│")[2:-1]]
        for line in console.export_text().splitlines()
        if line.startswith("│")
    }
    assert rows["callables run"] == ["6 of 6", "0 of 6", "3 of 6", ""]
    assert rows["trips"][:3] == ["computed", "reused", "reused"]
    assert rows["time_features"] == [
        "computed",
        "reused",
        "computed",
        "dependency taxi.helpers:is_rush_hour changed",
    ]
    plan = capfd.readouterr().out  # `skipwise plan taxi_airflow.py`, before the edited run
    assert "│ time_features │ rerun  │ dependency taxi.helpers:is_rush_hour changed" in plan
