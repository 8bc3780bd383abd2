"""The command behaves like a modern one: a user's mistake is one line naming what is wrong and
exit code 2 (`--debug` shows the traceback), a missing extra names its install command, and
`--version` and `-f table` work. Every case runs the real command in a fresh process."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

import skipwise
from skipwise import cli

SKIPWISE = [sys.executable, "-m", "skipwise.cli"]
FILES = {
    "broken.py": "def f(:\n    pass\n",
    "boom.py": "import skipwise\n\nx = 1\ny = undefined_name\n",
    "fine.py": "import skipwise\n\n\n@skipwise.cached(name='fine.one')\ndef one():\n    return 1\n",
}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name, text in FILES.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "empty").mkdir()
    return tmp_path


def skipwise_cli(folder: Path, *args: str, blocked: str = "") -> subprocess.CompletedProcess[str]:
    """The command; ``blocked`` names a module made impossible to import (a missing extra)."""
    env = {**os.environ, "SKIPWISE_STORE": str(folder / "store"), "COLUMNS": "80"}
    command = SKIPWISE
    if blocked:
        start = (
            f"import sys; sys.modules[{blocked!r}] = None; from skipwise.cli import main; main()"
        )
        command = [sys.executable, "-c", start]
    return subprocess.run([*command, *args], cwd=folder, env=env, capture_output=True, text=True)


@pytest.mark.parametrize(
    ("args", "blocked", "message"),
    [
        (["plan", "missing.py"], "", "error: no such file: missing.py"),
        (["plan", "broken.py"], "", "error: syntax error in broken.py, line 1: invalid syntax"),
        (
            ["plan", "boom.py"],
            "",
            "error: importing boom.py failed: NameError: name 'undefined_name' is not defined "
            "(boom.py, line 4)",
        ),
        (["plan", "no_such_module"], "", "error: no module named 'no_such_module'"),
        (["explain", "fine.nothing"], "", "error: no stored result named 'fine.nothing'"),
        (["plan", "fine.py", "--select", "nope*"], "", "error: --select 'nope*' matches no task"),
        (
            ["ls", "--store", "foo://x"],
            "",
            "error: cannot open store foo://x: unknown scheme 'foo'",
        ),
        (["ls", "--store", "empty"], "", "error: no skipwise store at "),
        (
            ["gc", "--older-than", "30m"],
            "",
            "error: --older-than '30m': use a number and d, h, min",
        ),
        (
            ["ls", "--store", "s3://bucket/results"],
            "s3fs",
            "s3fs is not installed: pip install 'skipwise[s3]'",
        ),
        (
            ["ls", "--store", "sqlite:///results.db"],
            "sqlalchemy",
            "sqlalchemy is not installed: pip install 'skipwise[sql]'",
        ),
        (
            ["ls", "--store", "postgresql://127.0.0.1/results"],
            "psycopg",
            "the PostgreSQL driver psycopg is not installed: pip install 'skipwise[sql]'",
        ),
        (
            ["plan", str(Path(__file__).parents[1] / "dags" / "taxi_dagster.py")],
            "dagster",
            "dagster is not installed: pip install 'skipwise[dagster]'",
        ),
    ],
)
def test_a_mistake_is_one_line_and_exit_2(
    folder: Path, args: list[str], blocked: str, message: str
) -> None:
    result = skipwise_cli(folder, *args, blocked=blocked)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert lines[0].startswith("error: ")
    assert not (folder / "store").exists()


def test_debug_shows_the_traceback(folder: Path) -> None:
    result = skipwise_cli(folder, "--debug", "plan", "boom.py")
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "NameError" in result.stderr


def test_version(folder: Path) -> None:
    result = skipwise_cli(folder, "--version")
    assert result.returncode == 0 and result.stdout == f"skipwise {skipwise.__version__}\n"


def test_table_is_the_default_format_and_text_its_alias(folder: Path) -> None:
    outputs = [
        skipwise_cli(folder, "plan", "fine.py", *fmt)
        for fmt in ([], ["-f", "table"], ["-f", "text"])
    ]
    assert all(result.returncode == 0 for result in outputs), outputs[0].stderr
    assert len({result.stdout for result in outputs}) == 1
    assert "fine.one" in outputs[0].stdout and "new" in outputs[0].stdout


@pytest.mark.parametrize(
    ("text", "age"),
    [
        ("30d", timedelta(days=30)),
        ("12h", timedelta(hours=12)),
        ("90min", timedelta(minutes=90)),
        ("45s", timedelta(seconds=45)),
    ],
)
def test_ages_take_units_that_cannot_be_mistaken(text: str, age: timedelta) -> None:
    assert cli._duration(text, "--older-than") == age
