"""`skipwise plan` on a Dagster definitions file: every asset is a task, labelled by its key,
with upstream edges from the asset graph; skipwise assets are planned under the result names
plain Python uses, so the taxi assets reuse what the plain pipeline stored."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import dagster as dg

import skipwise.dagster as sd
from skipwise.host import Status, current_store, discover, make_plan

DAGS = Path(__file__).resolve().parents[2] / "dags"
SKIPWISE = [sys.executable, "-m", "skipwise.cli"]
EDIT = (
    "evening = hour.between(EVENING_RUSH[0], EVENING_RUSH[1] - 1)",
    "evening = hour.between(EVENING_RUSH[0], EVENING_RUSH[1])",
)


def sh(folder: Path, *args: str, code: int = 0) -> str:
    env = {**os.environ, "SKIPWISE_STORE": str(folder / "store"), "PYTHONPATH": str(folder)}
    result = subprocess.run(args, cwd=folder, env=env, capture_output=True, text=True)
    assert result.returncode == code, result.stderr
    return result.stdout


def planned(folder: Path, *extra: str, code: int = 0) -> dict[str, dict]:
    out = sh(folder, *SKIPWISE, "plan", "taxi_dagster.py", "-f", "json", *extra, code=code)
    return {item["label"]: item for item in json.loads(out)["items"]}


def test_plan_finds_the_taxi_assets_and_agrees_with_explain(tmp_path: Path) -> None:
    shutil.copytree(DAGS / "taxi", tmp_path / "taxi", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(DAGS / "taxi_dagster.py", tmp_path)
    before = planned(tmp_path, "--check", code=1)
    assert {label: (i["name"], i["status"]) for label, i in before.items()} == {
        f"taxi/{step}": (f"taxi.{step}", "new")
        for step in ("trips", "cleaned", "fare_features", "time_features", "model", "metrics")
    }
    assert before["taxi/model"]["upstream"] == ["taxi.fare_features", "taxi.time_features"]
    assert before["taxi/cleaned"]["upstream"] == ["taxi.trips"]
    assert not (tmp_path / "store").exists()  # no asset ran, nothing was written

    sh(tmp_path, sys.executable, "-c", "import taxi.pipeline as p; p.run(2000)")
    assert {i["status"] for i in planned(tmp_path, "--check").values()} == {"reuse"}

    helpers = tmp_path / "taxi" / "helpers.py"
    helpers.write_text(helpers.read_text().replace(*EDIT))
    after = planned(tmp_path)
    assert {label: i["status"] for label, i in after.items() if i["status"] != "reuse"} == {
        "taxi/time_features": "rerun-code",
        "taxi/model": "rerun-upstream",
        "taxi/metrics": "rerun-upstream",
    }
    explained = sh(tmp_path, *SKIPWISE, "explain", "taxi/model", "--target", "taxi_dagster.py")
    lines = explained.splitlines()
    assert lines[0].startswith("taxi/model (taxi.model)")
    assert lines[1] == f"rerun: {after['taxi/model']['cause']}"
    assert lines[2] == f"because taxi/time_features: {after['taxi/time_features']['cause']}"


def double(raw):
    return [2 * x for x in raw]


def test_plain_assets_are_drawn_as_not_managed(isolated_store: Path) -> None:
    @dg.asset
    def raw():
        return [1, 2]

    module = types.ModuleType("planned_definitions")
    module.defs = dg.Definitions(assets=[raw, sd.asset(double)])  # type: ignore[attr-defined]
    result = make_plan(discover(module), current_store(), "defs")
    items = {item.label: item for item in result.items}
    assert (items["raw"].name, items["raw"].status) == ("dagster:raw", Status.UNMANAGED)
    assert (items["double"].name, items["double"].status) == ("double", Status.NEW)
    assert items["double"].upstream == ["dagster:raw"]
