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

    cold, warm, edited = demo_airflow.run(tmp_path, Console(), demo.edit_helper)
    assert [task["step"] for task in cold] == demo_airflow.TASKS
    assert [task["status"] for task in cold] == ["computed"] * 6
    assert [task["status"] for task in warm] == ["reused"] * 6
    assert [task["status"] for task in edited] == ["reused"] * 3 + ["computed"] * 3
    assert edited[3]["reason"] == "dependency taxi.helpers:is_rush_hour changed"
    plan = capfd.readouterr().out  # `skipwise plan taxi_airflow.py`, before the edited run
    assert "│ time_features │ rerun  │ dependency taxi.helpers:is_rush_hour changed" in plan
