"""`skipwise plan` never runs the pipeline: a cached call made while the target is imported is
recorded (signed and looked up, never run), nothing is written to any store, and the target's
prints go to stderr so that stdout is only the plan."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import skipwise
from skipwise.errors import SkipwiseError
from skipwise.recording import Planned, recording

README = Path(__file__).resolve().parents[1] / "README.md"
SKIPWISE = [sys.executable, "-m", "skipwise.cli"]


def readme_example(folder: Path) -> Path:
    """The README's 30-second example, as the file a user would save it in."""
    block = re.search(r"```python\n(.*?)```", README.read_text(), re.S)
    assert block, "README has a python example"
    path = folder / "api.py"
    path.write_text(block.group(1))
    return path


def store_files(store: Path) -> dict[str, str]:
    """Every file under the store, by path, with a hash of its bytes."""
    return {
        str(path.relative_to(store)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(store.rglob("*"))
        if path.is_file()
    }


def run(folder: Path, store: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SKIPWISE_STORE": str(store)}
    result = subprocess.run(args, cwd=folder, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result


def plan(folder: Path, store: Path) -> dict[str, tuple[str, str]]:
    """Plan the example as JSON: stdout must parse; its items' (status, cause) by name."""
    result = run(folder, store, *SKIPWISE, "plan", "api.py", "-f", "json")
    assert "not computed" in result.stderr  # the example's prints, of placeholders
    items = json.loads(result.stdout)["items"]
    return {item["name"]: (item["status"], item["cause"]) for item in items}


def test_plan_on_the_readme_example_runs_nothing_and_writes_nothing(tmp_path: Path) -> None:
    example = readme_example(tmp_path)
    store = tmp_path / "store"
    new = plan(tmp_path, store)
    assert {name: status for name, (status, _) in new.items()} == {
        "api.clean": "new",
        "api.summary": "new",
    }
    assert not store.exists()  # not even an empty store

    run(tmp_path, store, sys.executable, "api.py")  # the real run computes and stores both
    before = store_files(store)
    assert before
    assert plan(tmp_path, store) == {
        "api.clean": ("reuse", "unchanged"),
        "api.summary": ("reuse", "unchanged"),
    }
    assert store_files(store) == before

    example.write_text(example.read_text().replace("RATE = 2.2", "RATE = 2.5"))
    assert plan(tmp_path, store) == {
        "api.clean": ("rerun-code", "dependency api:RATE changed (via api:per_km)"),
        "api.summary": ("rerun-upstream", "upstream api.clean will rerun"),
    }
    assert store_files(store) == before


ran: list[str] = []


@skipwise.cached(name="records.first")
def first(n: int) -> list[int]:
    ran.append("first")
    return list(range(n))


@skipwise.cached(name="records.second")
def second(values: list[int]) -> int:
    ran.append("second")
    return sum(values)


def test_a_recorded_call_runs_nothing_and_signs_its_downstream_by_lineage(
    isolated_store: Path,
) -> None:
    ran.clear()
    with recording() as recorded:
        placeholder = first(4)
        outcome = second.run(placeholder)
    assert ran == [] and not isolated_store.exists()
    assert isinstance(placeholder, Planned) and isinstance(outcome.value, Planned)
    assert not outcome.stored
    with pytest.raises(SkipwiseError, match="placeholder"):
        placeholder.load()
    assert [d.tree.signature for d in recorded.by_name()["records.first"]] == [first.signature(4)]

    values = first(4)  # stored: a recorded call of it now stands for this very result
    before = store_files(isolated_store)
    with recording() as recorded:
        second(first(4))
    assert ran == ["first"] and store_files(isolated_store) == before
    # The real run signs the downstream call exactly as the recorded one was signed.
    assert recorded.by_name()["records.second"][0].tree.signature == second.signature(values)


def test_changed_arguments_and_forcing_have_their_own_status(tmp_path: Path) -> None:
    example = readme_example(tmp_path)
    store = tmp_path / "store"
    run(tmp_path, store, sys.executable, "api.py")
    example.write_text(
        example.read_text().replace('"fare": [10.0, 0.0, 7.5]', '"fare": [11.0, 0.0, 7.5]')
    )
    assert plan(tmp_path, store)["api.clean"] == ("rerun-input", "argument 'trips' changed")
    plan_forced = ("env", "SKIPWISE_FORCE=api.summary", *SKIPWISE, "plan", "api.py", "-f", "json")
    forced = run(tmp_path, store, *plan_forced)
    statuses = {i["name"]: i["status"] for i in json.loads(forced.stdout)["items"]}
    assert statuses["api.summary"] == "rerun-forced"
