"""Defaults that match habits: one store per project wherever a script starts, and one visible
line per cached call (a status line in a terminal) unless the user says otherwise."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from skipwise import config

SCRIPT = """
import time
import skipwise


@skipwise.cached(name="habits.slow")
def slow(n):
    time.sleep(0.5)
    return n * 2


print(slow(21), slow(21))
"""


def python(
    folder: Path, source: str, **env: str
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run ``source`` in ``folder`` with the default store; its stderr lines from skipwise."""
    (folder / "job.py").write_text(textwrap.dedent(source))
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SKIPWISE_")}
    result = subprocess.run(
        [sys.executable, "job.py"],
        cwd=folder,
        env={**environment, **env},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return result, [line for line in result.stderr.splitlines() if "habits.slow" in line]


@pytest.mark.parametrize("marker", ["pyproject.toml", "setup.cfg", ".git"])
def test_the_project_root_is_the_nearest_folder_with_a_marker(tmp_path: Path, marker: str) -> None:
    (tmp_path / marker).mkdir() if marker == ".git" else (tmp_path / marker).touch()
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert config.project_root(deep) == tmp_path
    assert config.project_root(tmp_path) == tmp_path


def test_without_a_marker_the_store_is_in_the_current_folder(tmp_path: Path) -> None:
    assert not any((p / m).exists() for p in tmp_path.parents for m in config.PROJECT_MARKERS)
    assert config.project_root(tmp_path) == tmp_path


def test_scripts_in_subfolders_share_the_store_at_the_project_root(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'habits'\n")
    notebooks, scripts = tmp_path / "notebooks", tmp_path / "scripts"
    notebooks.mkdir()
    scripts.mkdir()
    _, lines = python(notebooks, SCRIPT)
    assert [line.split()[1] for line in lines] == ["computing", "reused"]
    assert (tmp_path / ".skipwise" / "objects").is_dir()
    assert not (notebooks / ".skipwise").exists()
    _, lines = python(scripts, SCRIPT)  # another folder of the project: its result is there
    assert [line.split()[1] for line in lines] == ["reused", "reused"]

    env = {k: v for k, v in os.environ.items() if k != "SKIPWISE_STORE"}
    listing = subprocess.run(
        [sys.executable, "-m", "skipwise.cli", "ls"],
        cwd=scripts,
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"skipwise store: {tmp_path / '.skipwise'}" in listing
    assert "the default: .skipwise/ at the project root" in listing
    assert "habits.slow" in listing


def test_one_line_per_call_is_visible_by_default(tmp_path: Path) -> None:
    result, lines = python(tmp_path, SCRIPT)
    assert result.stdout == "42 42\n"
    assert len(lines) == 2
    assert lines[0].startswith("[skipwise] computing habits.slow ")
    assert lines[1].startswith("[skipwise] reused habits.slow ")


def test_skipwise_quiet_silences_the_lines(tmp_path: Path) -> None:
    result, lines = python(tmp_path, SCRIPT, SKIPWISE_QUIET="1")
    assert lines == [] and result.stderr == ""


def test_a_users_logging_configuration_decides(tmp_path: Path) -> None:
    configured = (
        "import logging\nlogging.basicConfig(level=logging.INFO, format='%(name)s| %(message)s')\n"
    )
    _, lines = python(tmp_path, configured + SCRIPT)
    assert [line.split()[:2] for line in lines] == [
        ["skipwise|", "computing"],
        ["skipwise|", "reused"],
    ]
    silenced = "import logging\nlogging.getLogger('skipwise').setLevel(logging.WARNING)\n"
    _, lines = python(tmp_path, silenced + SCRIPT.replace("habits.slow", "habits.slow2"))
    assert lines == []


def test_a_terminal_shows_a_status_line_while_a_call_computes(tmp_path: Path) -> None:
    (tmp_path / "job.py").write_text(textwrap.dedent(SCRIPT))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SKIPWISE_")}
    primary, secondary = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "job.py"],
        cwd=tmp_path,
        env={**env, "TERM": "xterm-256color", "COLUMNS": "100"},
        stdout=subprocess.DEVNULL,
        stderr=secondary,
    )
    os.close(secondary)
    terminal = _read_until_closed(primary)
    assert process.wait(timeout=120) == 0, terminal
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", terminal)  # without colours and moves
    assert "⠋ computing habits.slow" in plain  # rich's spinner, then the call
    _, lines = python(tmp_path, SCRIPT.replace("habits.slow", "habits.slow3"))
    assert not any("⠋" in line for line in lines)  # not a terminal: the lines only


def _read_until_closed(fd: int) -> str:
    """What a process wrote to the terminal, read as it writes (a full pty would block it)."""
    chunks = []
    try:
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
    except OSError:  # EIO: the process closed its end
        pass
    finally:
        os.close(fd)
    return b"".join(chunks).decode(errors="replace")
