"""Sign an installed package as user code in fresh processes, and compare the runs.

Shared by ``tests/realcode/test_real_packages.py`` (a few packages, in the normal suite) and
``bench/real_packages.py`` (a wider sweep). Each run copies the package's source to its own
checkout folder, so two runs differ in path, hash seed and signing order.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

SIGN_PACKAGE = Path(__file__).with_name("sign_package.py")
SITE = Path(sysconfig.get_paths()["purelib"])


@dataclass(frozen=True)
class Run:
    """What one fresh process saw (see sign_package.py for each field)."""

    signatures: dict[str, str]
    errors: dict[str, str]
    not_imported: dict[str, str]
    foreign: dict[str, str]
    warnings: list[str]
    other_warnings: list[str]
    side_effects: list[str]


def checkout(package: str, root: Path) -> Path:
    """A copy of the installed package's source under ``root`` (which becomes user code)."""
    root.mkdir(parents=True)
    shutil.copytree(SITE / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def start(project: Path, package: str) -> subprocess.Popen[str]:
    seed = random.randint(1, 2**32 - 1)
    env = {**os.environ, "PYTHONHASHSEED": str(seed), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONPATH", None)
    command = [sys.executable, str(SIGN_PACKAGE), str(project), package, str(seed)]
    return subprocess.Popen(
        command, env=env, cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finish(process: subprocess.Popen[str], timeout: float = 600) -> Run:
    out, err = process.communicate(timeout=timeout)
    if process.returncode != 0:
        raise AssertionError(f"the signing process failed:\n{err[-4000:]}")
    return Run(**json.loads(out))


def differences(first: Run, second: Run) -> list[str]:
    """Targets whose signature differs between two runs (or that one run did not sign)."""
    keys = first.signatures.keys() | second.signatures.keys()
    return sorted(k for k in keys if first.signatures.get(k) != second.signatures.get(k))
