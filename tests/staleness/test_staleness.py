"""Every case: the signature before an edit is the same in two fresh processes with different
hash seeds and checkout paths; after the edit it changes exactly when the case says it must."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from tests.staleness.cases import CASES, RERUN, Case

SIGN = Path(__file__).with_name("sign.py")


def write_project(files: dict[str, str], root: Path) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def edited(case: Case) -> dict[str, str]:
    files = dict(case.files)
    for file, old, new in case.edits:
        assert files[file].count(old) == 1, f"edit {old!r} must match once in {file}"
        files[file] = files[file].replace(old, new)
    return files


def start(project: Path, case: Case) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONHASHSEED": str(random.randint(1, 2**32 - 1))}
    env.pop("PYTHONPATH", None)
    return subprocess.Popen(
        [sys.executable, str(SIGN), str(project), case.target, json.dumps(list(case.args))],
        env=env,
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> str:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    return out.strip()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_change(case: Case, tmp_path: Path) -> None:
    runs = [
        start(write_project(case.files, tmp_path / "checkout"), case),
        start(write_project(case.files, tmp_path / "teammate" / "clone"), case),
        start(write_project(edited(case), tmp_path / "edited"), case),
    ]
    before, elsewhere, after = (finish(p) for p in runs)
    assert before == elsewhere, "signature must not depend on path, hash seed or process"
    if case.expect == RERUN:
        assert after != before, f"{case.id}: the edit must change the signature"
    else:
        assert after == before, f"{case.id}: the edit must not change the signature"


def test_suite_is_large_and_balanced() -> None:
    assert len(CASES) >= 40
    assert sum(c.expect != RERUN for c in CASES) >= 10
    assert len({c.id for c in CASES}) == len(CASES)
