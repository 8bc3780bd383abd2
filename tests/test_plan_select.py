"""`plan --select` picks tasks the way dbt does, and `plan --check` is a CI gate: exit 1 when
anything selected will rerun, 0 when everything is reused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from skipwise.errors import SkipwiseError
from skipwise.plan import Plan, PlanItem
from skipwise.selection import select
from skipwise.status import Status

# load -> clean -> report, clean -> features; "other" stands alone.
EDGES = {"load": [], "clean": ["load"], "report": ["clean"], "features": ["clean"], "other": []}


def sample() -> Plan:
    items = [
        PlanItem(
            f"shop.{name}", f"task_{name}", Status.REUSE, "unchanged", [f"shop.{u}" for u in ups]
        )
        for name, ups in EDGES.items()
    ]
    return Plan("shop.py", "memory://", items)


@pytest.mark.parametrize(
    ("selectors", "expected"),
    [
        (["shop.clean"], ["clean"]),
        (["task_clean"], ["clean"]),  # a label, as plan prints it
        (["+shop.clean"], ["load", "clean"]),
        (["shop.clean+"], ["clean", "report", "features"]),
        (["+shop.clean+"], ["load", "clean", "report", "features"]),
        (["shop.*e*"], ["clean", "report", "features", "other"]),
        (["task_load+", "shop.other"], ["load", "clean", "report", "features", "other"]),
        ([], ["load", "clean", "report", "features", "other"]),
    ],
)
def test_select_forms(selectors: list[str], expected: list[str]) -> None:
    chosen = select(sample(), selectors)
    assert [item.name for item in chosen.items] == [f"shop.{name}" for name in expected]


@pytest.mark.parametrize("selector", ["shop.nothing", "+", "nothing+"])
def test_a_selector_that_matches_nothing_names_itself(selector: str) -> None:
    with pytest.raises(
        SkipwiseError, match=f"--select '{selector.replace('+', '[+]')}' matches no task"
    ):
        select(sample(), [selector])


PIPELINE = """
import skipwise

RATE = 2


@skipwise.cached(name="gate.load")
def load(n):
    return list(range(n))


@skipwise.cached(name="gate.scaled")
def scaled(values):
    return [v * RATE for v in values]


@skipwise.cached(name="gate.other")
def other(n):
    return n + 1
"""


def test_check_exits_1_when_anything_selected_will_rerun(tmp_path: Path) -> None:
    (tmp_path / "gate.py").write_text(textwrap.dedent(PIPELINE))
    env = {**os.environ, "SKIPWISE_STORE": str(tmp_path / "store")}

    def skipwise(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "skipwise.cli", *args]
        return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)

    assert skipwise("plan", "gate.py", "--check").returncode == 1  # new: will run
    run = "import gate; gate.scaled(gate.load(3)); gate.other(1)"
    subprocess.run([sys.executable, "-c", run], cwd=tmp_path, env=env, check=True)
    assert skipwise("plan", "gate.py", "--check").returncode == 0  # all reused

    source = tmp_path / "gate.py"
    source.write_text(source.read_text().replace("RATE = 2", "RATE = 3"))
    changed = skipwise("plan", "gate.py", "--check", "-f", "json")
    assert changed.returncode == 1
    assert json.loads(changed.stdout)["summary"] == {"reuse": 2, "rerun-code": 1}
    only_other = skipwise("plan", "gate.py", "--check", "--select", "gate.oth*", "-f", "json")
    assert only_other.returncode == 0, only_other.stderr
    assert [i["name"] for i in json.loads(only_other.stdout)["items"]] == ["gate.other"]
