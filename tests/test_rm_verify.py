"""``skipwise rm`` and ``skipwise gc --verify``: removing results by hand, and finding damaged
ones; the next run recomputes what was removed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import skipwise
from skipwise import Status

SKIPWISE = [sys.executable, "-m", "skipwise.cli"]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SKIPWISE, *args], capture_output=True, text=True)


def stored(isolated_store: Path) -> tuple[skipwise.Cached, list[str]]:
    runs: list[str] = []

    @skipwise.cached(name="rm.square")
    def square(x):
        runs.append(f"square({x})")
        return x * x

    square(2), square(3)
    return square, runs


def test_rm_by_name_and_by_signature(isolated_store: Path) -> None:
    square, runs = stored(isolated_store)
    store = str(isolated_store)
    dry = cli("rm", "rm.square", "--store", store, "--dry-run")
    assert dry.returncode == 0 and "would remove 2 result(s)" in dry.stdout
    assert square.run(2).status is Status.REUSED

    one = cli("rm", square.signature(3)[:10], "--store", store)
    assert one.returncode == 0 and "removing 1 result(s)" in one.stdout
    assert square.run(3).status is Status.COMPUTED and square.run(2).status is Status.REUSED

    every = cli("rm", "rm.square", "--store", store)
    assert every.returncode == 0 and "removing 2 result(s)" in every.stdout
    assert square.run(2).status is Status.COMPUTED and runs[-1] == "square(2)"

    missing = cli("rm", "no.such.name", "--store", store)
    assert missing.returncode == 2 and missing.stdout == ""
    assert missing.stderr.strip().splitlines() == [
        f"error: nothing stored for 'no.such.name' in {store}"
    ]


def test_gc_verify_finds_and_removes_damaged_entries(isolated_store: Path) -> None:
    square, _ = stored(isolated_store)
    damaged = square.signature(3)
    for data in isolated_store.glob(f"objects/*/{damaged}/data-*"):
        data.write_bytes(b"damaged")
    store = str(isolated_store)

    plain = cli("gc", "--store", store)  # without --verify nothing is read
    assert "damaged" not in plain.stdout
    dry = cli("gc", "--verify", "--store", store)
    assert dry.returncode == 0, dry.stderr
    assert f"damaged {damaged[:12]} rm.square: fails its checksum" in dry.stdout
    assert "would remove 1 result(s)" in dry.stdout
    assert skipwise.open_store(store).manifest(damaged) is not None  # a dry run removes nothing

    done = cli("gc", "--verify", "--delete", "--store", store)
    assert done.returncode == 0 and "removing 1 result(s)" in done.stdout
    assert skipwise.open_store(store).manifest(damaged) is None
    assert square.run(3).status is Status.COMPUTED and square.run(2).status is Status.REUSED
    assert cli("gc", "--verify", "--store", store).stdout.startswith("would remove 0 result(s)")
