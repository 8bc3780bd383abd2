"""The skipwise command, run as a real console script against a real project and store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

SKIPWISE = [sys.executable, "-m", "skipwise.cli"]

HELPERS = """
RATE = 2


def bump(x):
    return x + 1


def scale(x):
    return x * RATE
"""

PIPELINE = """
import skipwise
from helpers import bump, scale


@skipwise.cached(name="demo.load")
def load(n):
    return list(range(n))


@skipwise.cached(name="demo.bumped")
def bumped(values):
    return [bump(v) for v in values]


@skipwise.cached(name="demo.scaled")
def scaled(values):
    return [scale(v) for v in values]


@skipwise.cached(name="demo.total")
def total(a, b):
    return sum(a) + sum(b)


def run():
    values = load(5)
    return total(bumped(values), scaled(values))
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "helpers.py").write_text(textwrap.dedent(HELPERS))
    (root / "pipe.py").write_text(textwrap.dedent(PIPELINE))
    return root


def sh(project: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    # No bytecode cache: an edit within the second the file was written keeps its size and
    # mtime, and Python would import the old code from __pycache__.
    env = {**os.environ, "SKIPWISE_STORE": str(project / ".skipwise"), "COLUMNS": "200"}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return subprocess.run(args, cwd=project, env=env, capture_output=True, text=True, check=check)


def run_pipeline(project: Path) -> None:
    sh(project, sys.executable, "-c", "import pipe; print(pipe.run())")


def plan(project: Path, *extra: str) -> str:
    return sh(project, *SKIPWISE, "plan", "pipe.py", *extra).stdout


def test_plan_before_any_run_says_new(project: Path) -> None:
    result = json.loads(plan(project, "--format", "json"))
    assert {i["name"]: i["status"] for i in result["items"]} == dict.fromkeys(
        ["demo.load", "demo.bumped", "demo.scaled", "demo.total"], "new"
    )


def test_plan_after_an_edit_names_the_cause_and_propagates(project: Path) -> None:
    run_pipeline(project)
    unchanged = json.loads(plan(project, "--format", "json"))
    assert {i["status"] for i in unchanged["items"]} == {"reuse"}
    helpers = project / "helpers.py"
    helpers.write_text(helpers.read_text().replace("x * RATE", "x * RATE * 10"))
    result = json.loads(plan(project, "--format", "json"))
    items = {i["name"]: i for i in result["items"]}
    assert items["demo.load"]["status"] == "reuse"
    assert items["demo.bumped"]["status"] == "reuse"
    assert items["demo.scaled"]["status"] == "rerun-code"
    assert items["demo.scaled"]["cause"] == "dependency helpers:scale changed"
    assert items["demo.total"]["status"] == "rerun-upstream"
    assert "demo.scaled" in items["demo.total"]["upstream"]
    # The plan ran nothing: the stored results are unchanged and still the latest.
    assert json.loads(plan(project, "--format", "json")) == result

    markdown = plan(project, "--format", "markdown")
    assert "| `demo.scaled` | **rerun** | dependency helpers:scale changed |" in markdown
    text = plan(project)
    assert "demo.scaled" in text and "rerun" in text

    svg = ET.fromstring(plan(project, "--format", "svg"))
    statuses = {
        g.get("data-id"): g.get("data-status") for g in svg.iter("{http://www.w3.org/2000/svg}g")
    }
    assert statuses["demo.scaled"] == "rerun-code" and statuses["demo.load"] == "reuse"
    dot = plan(project, "--format", "dot")
    assert dot.startswith("digraph") and '"demo.scaled" -> "demo.total"' in dot
    mermaid = plan(project, "--format", "mermaid")
    assert mermaid.startswith("flowchart LR") and ":::rerun_code" in mermaid


def test_plan_writes_a_picture_to_a_file(project: Path) -> None:
    sh(project, *SKIPWISE, "plan", "pipe.py", "--format", "svg", "--output", "plan.svg")
    assert ET.parse(project / "plan.svg").getroot().tag.endswith("svg")


def test_explain_shows_the_changed_dependency_with_a_diff(project: Path) -> None:
    run_pipeline(project)
    helpers = project / "helpers.py"
    helpers.write_text(helpers.read_text().replace("RATE = 2", "RATE = 3"))
    out = sh(project, *SKIPWISE, "explain", "demo.scaled").stdout
    assert "dependency helpers:RATE changed" in out
    assert "-2" in out and "+3" in out
    same = sh(project, *SKIPWISE, "explain", "demo.bumped").stdout
    assert "code unchanged" in same


def test_ls_show_and_gc(project: Path) -> None:
    run_pipeline(project)
    listing = sh(project, *SKIPWISE, "ls").stdout
    for name in ("demo.load", "demo.bumped", "demo.scaled", "demo.total"):
        assert name in listing
    shown = sh(project, *SKIPWISE, "show", "demo.total").stdout
    assert '"name": "demo.total"' in shown and "signature tree of demo.total" in shown

    helpers = project / "helpers.py"
    helpers.write_text(helpers.read_text().replace("x + 1", "x + 2"))
    run_pipeline(project)  # new results for bumped and total; the old ones are history
    dry = sh(project, *SKIPWISE, "gc", "--keep-latest", "1").stdout
    assert "would remove 2 result(s)" in dry
    store = project / ".skipwise" / "objects"
    before = sorted(p.name for p in store.glob("*/*"))
    assert len(before) == 6
    sh(project, *SKIPWISE, "gc", "--keep-latest", "1", "--delete")
    after = sorted(p.name for p in store.glob("*/*"))
    assert len(after) == 4
    assert json.loads(plan(project, "--format", "json"))["summary"] == {"reuse": 4}


def test_errors_name_what_is_wrong(project: Path) -> None:
    missing = sh(project, *SKIPWISE, "explain", "demo.nothing", check=False)
    assert missing.returncode == 2 and "no stored result named 'demo.nothing'" in missing.stderr
    bad_age = sh(project, *SKIPWISE, "gc", "--older-than", "soon", check=False)
    assert bad_age.returncode != 0 and "30d" in bad_age.stderr


def test_gc_removes_a_crashed_writers_leftovers_after_the_grace(project: Path) -> None:
    run_pipeline(project)
    entry = next((project / ".skipwise" / "objects").glob("*/*"))
    orphan = entry / "data-deadbeefdeadbeef.json"
    orphan.write_text("{}")  # what a writer killed before its manifest leaves behind
    young = sh(project, *SKIPWISE, "gc", "--delete").stdout
    assert "0 leftover file(s)" in young and orphan.exists()
    sh(project, *SKIPWISE, "gc", "--delete", "--leftover-grace", "0s")
    assert not orphan.exists()
    assert json.loads(plan(project, "--format", "json"))["summary"] == {"reuse": 4}
