"""What code writes while it runs (a memo it fills, a registry's fallback, a lazily assigned
global or class attribute) never changes a signature: signed before and after a call in one
process, and in another process (other hash seed, other checkout) that called the code before
signing, the signature is the same."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from tests.staleness.cases import RUN_TIME_WRITES
from tests.staleness.test_staleness import finish, write_project

SCRIPT = Path(__file__).with_name("sign_around_call.py")


def _run(project: Path, order: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONHASHSEED": str(random.randint(1, 2**32 - 1))}
    env.pop("PYTHONPATH", None)
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), str(project), "pipe:task", "[2]", order],
        env=env,
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("name", sorted(RUN_TIME_WRITES))
def test_a_call_does_not_change_the_signature(name: str, tmp_path: Path) -> None:
    files = RUN_TIME_WRITES[name]
    runs = [
        _run(write_project(files, tmp_path / "checkout"), "sign,call,sign,call,sign"),
        _run(write_project(files, tmp_path / "teammate" / "clone"), "call,sign"),
    ]
    around, called_first = (json.loads(finish(run)) for run in runs)
    assert len(set(around)) == 1, f"{name}: a call changed the signature in its process"
    assert called_first == around[:1], f"{name}: code run before signing changed it"
