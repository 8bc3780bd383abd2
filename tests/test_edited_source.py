"""A module whose file is edited while a process runs it: that process still runs the code it
imported, so it must not sign by the statements now on disk (it would store what the old code
computes under the signature of the new code, which a fresh process would then reuse).
Whether a file changed after its module ran is told by when the module ran (seen as it
happens), not by the age of a cached bytecode file: there may be none, and another process
importing the edited file writes it anew."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

MODULE = """
RATES = {}
RATES["eur"] = 2


def remember(k, v):
    if k not in RATES:  # a memo: what the run adds is not the code's content
        RATES[k] = v


def compute(x):
    return x * RATES["eur"]
"""

RUNNING = """
import os, subprocess, sys, time
sys.path.insert(0, os.getcwd())
import skipwise, cfg

before = skipwise.signature(cfg.compute, 10)
time.sleep(0.05)
with open("cfg.py") as f:
    text = f.read()
with open("cfg.py", "w") as f:
    f.write(text.replace('RATES["eur"] = 2', 'RATES["eur"] = 3'))
if sys.argv[1] == "reimported":  # another process imports the edited file: a new .pyc
    subprocess.run([sys.executable, "-c", "import cfg"], check=True, cwd=os.getcwd())
import email.mime.text  # a module imported later: what signing knew of imports is redone
print(before, skipwise.signature(cfg.compute, 10))
"""

FRESH = """
import os, sys
sys.path.insert(0, os.getcwd())
import skipwise, cfg
print(skipwise.signature(cfg.compute, 10))
"""


def _python(code: str, cwd: Path, *args: str, bytecode: bool) -> list[str]:
    env = {**os.environ, "SKIPWISE_STORE": "memory://"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if not bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    result = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.split()


@pytest.mark.parametrize(
    ("how", "bytecode"), [("no-bytecode", False), ("reimported", True)], ids=["no-pyc", "new-pyc"]
)
def test_a_running_process_does_not_sign_by_statements_edited_after_import(
    tmp_path: Path, how: str, bytecode: bool
) -> None:
    (tmp_path / "cfg.py").write_text(textwrap.dedent(MODULE))
    before, after_edit = _python(RUNNING, tmp_path, how, bytecode=bytecode)
    (edited,) = _python(FRESH, tmp_path, bytecode=bytecode)
    assert edited != before  # the edit changes the signature of a fresh process
    assert after_edit != edited  # the running process, with the old code, never claims it
