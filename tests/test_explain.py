"""`skipwise explain` says what `plan` says (a task whose upstream reruns reruns too), finds
cached functions made in another module of the package without --target (run from the project
root, the package in a subfolder), and diffs what changed line by line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from skipwise.status import Status

FILES = {
    "pyproject.toml": "[project]\nname = 'shop'\n",
    "dags/shop/__init__.py": "",
    "dags/shop/helpers.py": """
        RATE = 0.2


        def price(x):
            return round(x * (1 + RATE), 2)
    """,
    "dags/shop/steps.py": """
        from shop.helpers import price


        def load(n):
            return list(range(n))


        def clean(values):
            return [price(v) for v in values]


        def report(cleaned):
            return {"total": sum(cleaned)}


        def count(values):
            return len(values)
    """,
    # The cached functions are made here, from functions defined in steps.py.
    "dags/shop/pipeline.py": """
        import skipwise
        from shop import steps

        load = skipwise.cached(steps.load, name="shop.load")
        clean = skipwise.cached(steps.clean, name="shop.clean")
        report = skipwise.cached(steps.report, name="shop.report")
        count = skipwise.cached(steps.count, name="shop.count")


        def run():
            values = load(5)
            return report(clean(values)), count(values)
    """,
}


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    for name, text in FILES.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(textwrap.dedent(text))
    sh(tmp_path / "dags", sys.executable, "-c", "import shop.pipeline as p; p.run()")
    helpers = tmp_path / "dags/shop/helpers.py"
    helpers.write_text(helpers.read_text().replace("RATE = 0.2", "RATE = 0.21"))
    return tmp_path


def sh(folder: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "SKIPWISE_STORE"}  # the project's
    env["COLUMNS"] = "200"
    result = subprocess.run(args, cwd=folder, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


def explain(folder: Path, name: str) -> list[str]:
    return [
        line.rstrip()
        for line in sh(folder, sys.executable, "-m", "skipwise.cli", "explain", name).splitlines()
    ]


def test_plan_and_explain_agree_without_target(shop: Path) -> None:
    planned = json.loads(
        sh(
            shop,
            sys.executable,
            "-m",
            "skipwise.cli",
            "plan",
            "dags/shop/pipeline.py",
            "-f",
            "json",
        )
    )
    items = {item["name"]: item for item in planned["items"]}
    assert {name: item["status"] for name, item in items.items()} == {
        "shop.load": "reuse",
        "shop.clean": "rerun-code",
        "shop.report": "rerun-upstream",
        "shop.count": "reuse",
    }
    for name, item in items.items():
        lines = explain(shop, name)
        assert lines[0].startswith(name)
        assert lines[1] == f"{Status(item['status']).style.short}: {item['cause']}"
        if name == "shop.report":
            assert lines[2] == f"because shop.clean: {items['shop.clean']['cause']}"
        if item["status"] == "reuse":
            assert lines[2].startswith("code unchanged")


def test_the_diff_of_a_constant_is_one_line_each_side(shop: Path) -> None:
    lines = explain(shop, "shop.clean")
    assert lines[1] == "rerun: dependency shop.helpers:RATE changed (via shop.helpers:price)"
    assert lines[2:] == [
        "• dependency shop.helpers:RATE changed (via shop.helpers:price)",
        "--- shop.helpers:RATE (stored)",
        "+++ shop.helpers:RATE (now)",
        "@@ -1 +1 @@",
        "-0.2",
        "+0.21",
    ]
