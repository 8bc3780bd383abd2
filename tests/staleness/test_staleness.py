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

from tests.staleness.cases import CASES, ENVIRONMENT, RERUN, Case

SIGN = Path(__file__).with_name("sign.py")


def write_project(files: dict[str, str], root: Path) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def edited(case: Case, exactly_once: bool = True) -> dict[str, str]:
    files = dict(case.files)
    for file, old, new in case.edits:
        if file not in files and not old:  # an edit that adds a file
            files[file] = new
            continue
        count = files[file].count(old)
        assert count == 1 if exactly_once else count >= 1, f"edit {old!r} does not fit {file}"
        files[file] = files[file].replace(old, new)
    return files


def start(project: Path, case: Case) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONHASHSEED": str(random.randint(1, 2**32 - 1))}
    env.pop("PYTHONPATH", None)
    variables = project / ENVIRONMENT
    if variables.exists():  # the case's environment variables: a value, or null for unset
        for name, value in json.loads(variables.read_text()).items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
    return subprocess.Popen(
        [sys.executable, str(SIGN), str(project), case.target, json.dumps(list(case.args))]
        + ([case.warns] if case.warns else []),
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


PROJECTS = sorted(p for p in (Path(__file__).parent / "projects").iterdir() if p.is_dir())
SIGN_PROJECT = Path(__file__).with_name("sign_project.py")


def sign_project(project: Path, case: dict, mutation: Path | None = None) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONHASHSEED": str(random.randint(1, 2**32 - 1))}
    env.pop("PYTHONPATH", None)
    command = [sys.executable, str(SIGN_PROJECT), str(project), case["target"], case["args"]]
    return subprocess.Popen(
        command + ([str(mutation)] if mutation else []),
        env=env,
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("project", PROJECTS, ids=[p.name for p in PROJECTS])
def test_project(project: Path, tmp_path: Path) -> None:
    """Realistic patterns (dispatch tables, pydantic models, regexes, partials, numpy and
    Arrow constants, nested cached functions, imports in bodies...) found by review."""
    case = json.loads((project / "case.json").read_text())
    root = project / "before"
    before = {p.relative_to(root).as_posix(): p.read_text() for p in root.rglob("*") if p.is_file()}
    mutation = project / "mutation.py"
    if mutation.exists():
        run = sign_project(write_project(before, tmp_path / "checkout"), case, mutation)
        result = json.loads(finish(run))
        changed = result["signature"] != result["after_mutation"]
    else:
        edited_files = edited(
            Case(case["title"], case["expect"], tuple(map(tuple, case["edits"])), before)
        )
        runs = [
            sign_project(write_project(before, tmp_path / "checkout"), case),
            sign_project(write_project(before, tmp_path / "teammate" / "clone"), case),
            sign_project(write_project(edited_files, tmp_path / "edited"), case),
        ]
        first, elsewhere, after = (json.loads(finish(r))["signature"] for r in runs)
        assert first == elsewhere, "signature must not depend on path, hash seed or process"
        changed = after != first
    assert changed == (case["expect"] == RERUN), case["title"]


def test_suite_is_large_and_balanced() -> None:
    assert len(CASES) >= 40
    assert sum(c.expect != RERUN for c in CASES) >= 10
    assert len({c.id for c in CASES}) == len(CASES)
