"""docs/tables.md's lazy SQL example runs as written, and ``skipwise plan`` plans it without
running it: before its first run (no upstream table to query yet) and after (all reused)."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "tables.md"
SKIPWISE = [sys.executable, "-m", "skipwise.cli"]


def example(folder: Path) -> Path:
    section = DOC.read_text().split("## Lazy SQL tasks", 1)[1]
    block = re.search(r"```python\n(.*?)```", section, re.S)
    assert block, "the section has a python example"
    path = folder / "shop.py"
    path.write_text(block.group(1))
    return path


def run(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SKIPWISE_STORE"}
    result = subprocess.run(args, cwd=folder, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result


def plan(folder: Path) -> dict[str, str]:
    result = run(folder, *SKIPWISE, "plan", "shop.py", "-f", "json")
    return {item["name"]: item["status"] for item in json.loads(result.stdout)["items"]}


def test_the_example_runs_and_plans(tmp_path: Path) -> None:
    example(tmp_path)
    # Plan reads a store without writing to it: the (empty) store exists first.
    run(
        tmp_path,
        sys.executable,
        "-c",
        "import skipwise; list(skipwise.open_store('sqlite:///shop.db').pointers())",
    )
    names = ["shop.orders", "shop.customers", "shop.big_orders", "shop.per_customer", "shop.report"]
    before = plan(tmp_path)
    assert {name: before[name] for name in names} == dict.fromkeys(names, "new")
    with sqlite3.connect(tmp_path / "shop.db") as db:  # plan ran nothing
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master")}
    assert tables and not [name for name in tables if name.startswith("sw_")]

    first = run(tmp_path, sys.executable, "shop.py")
    assert first.stdout.strip() == "{'ann': 30.0, 'bob': 12.5}"
    assert "computing shop.big_orders" in first.stderr and "in the database" in first.stderr

    show = [*SKIPWISE, "show", "shop.big_orders", "--store", "sqlite:///shop.db"]
    shown = run(tmp_path, "env", "COLUMNS=400", *show)  # wide: no wrapped lines
    assert "signed as is" in shown.stdout and "{orders}.amount > 10.0" in shown.stdout

    after = plan(tmp_path)
    assert {name: after[name] for name in names} == dict.fromkeys(names, "reuse")
    again = run(tmp_path, sys.executable, "shop.py")
    assert again.stdout == first.stdout
    assert "computing" not in again.stderr
