"""Dagster fixtures: a persistent instance in a temporary DAGSTER_HOME, and a small project
on disk whose step bodies log each call to a file (the counters proving what executed)."""

from __future__ import annotations

import importlib
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

import skipwise.dagster as sd

DAGSTER_YAML = "telemetry:\n  enabled: false\nnux:\n  enabled: false\n"

# The project: numbers -> scaled, labels -> summary, and partitioned readings -> calibrated ->
# report (all partitions). ``scaled`` and ``calibrated`` use helpers.scale; ``labels`` does not.
PROJECT = {
    "counter.py": """
        import os

        def record(call):
            with open(os.environ["MINIPIPE_CALLS"], "a") as log:
                log.write(call + "\\n")
    """,
    "helpers.py": """
        SCALE = 2

        def scale(x):
            return x * SCALE

        def label(x):
            return f"#{x}"
    """,
    "steps.py": """
        from minipipe.counter import record
        from minipipe.helpers import label, scale

        def numbers(n: int = 3):
            record("numbers")
            return list(range(n))

        def scaled(numbers):
            record("scaled")
            return [scale(x) for x in numbers]

        def labels(numbers):
            record("labels")
            return [label(x) for x in numbers]

        def summary(scaled, labels):
            record("summary")
            return {"total": sum(scaled), "labels": labels}

        def readings(context):
            record(f"readings:{context.partition_key}")
            return [len(context.partition_key), ord(context.partition_key[-1])]

        def calibrated(context, readings):
            record(f"calibrated:{context.partition_key}")
            return [scale(v) for v in readings]

        def report(calibrated):
            record("report")
            return {day: sum(values) for day, values in sorted(calibrated.items())}
    """,
    "defs.py": """
        import dagster as dg
        import skipwise.dagster as sd
        from minipipe import steps

        days = dg.StaticPartitionsDefinition(["2024-01-01", "2024-01-02", "2024-01-03"])

        numbers = sd.asset(steps.numbers)
        scaled = sd.asset(steps.scaled)
        labels = sd.asset(steps.labels)
        summary = sd.asset(steps.summary)
        chain = [numbers, scaled, labels, summary]

        readings = sd.asset(steps.readings, partitions_def=days)
        calibrated = sd.asset(steps.calibrated, partitions_def=days)
        report = sd.asset(steps.report)
        partitioned = [readings, calibrated]
    """,
}


class Project:
    """The project on disk; ``load()`` imports its current code afresh."""

    def __init__(self, root: Path, calls: Path):
        self.root = root
        self.calls_file = calls

    def load(self):
        for name in [m for m in sys.modules if m == "minipipe" or m.startswith("minipipe.")]:
            del sys.modules[name]
        importlib.invalidate_caches()
        return importlib.import_module("minipipe.defs")

    def edit(self, file: str, old: str, new: str) -> None:
        path = self.root / "minipipe" / file
        text = path.read_text()
        assert old in text, f"{old!r} not in {file}"
        path.write_text(text.replace(old, new))

    def calls(self) -> list[str]:
        """The bodies that ran since the last call, sorted (steps of a run may run in any order)."""
        if not self.calls_file.exists():
            return []
        lines = self.calls_file.read_text().split()
        self.calls_file.unlink()
        return sorted(lines)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Project]:
    root = tmp_path / "project"
    package = root / "minipipe"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    for name, source in PROJECT.items():
        (package / name).write_text(textwrap.dedent(source).lstrip())
    calls = tmp_path / "calls.log"
    monkeypatch.setenv("MINIPIPE_CALLS", str(calls))
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # edited files must be re-read
    yield Project(root, calls)
    for name in [m for m in sys.modules if m == "minipipe" or m.startswith("minipipe.")]:
        del sys.modules[name]


@pytest.fixture
def dagster_home(tmp_path: Path) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(DAGSTER_YAML)
    return home


@pytest.fixture
def instance(dagster_home: Path) -> Iterator[dg.DagsterInstance]:
    """A persistent (sqlite) instance: runs and materializations survive across calls."""
    with dg.DagsterInstance.from_config(str(dagster_home)) as opened:
        yield opened


@pytest.fixture
def io_manager(isolated_store: Path) -> sd.SkipwiseIOManager:
    return sd.SkipwiseIOManager(store=str(isolated_store))


def latest(instance: dg.DagsterInstance, key: str, partition: str | None = None):
    """The latest materialization of ``key`` (``a/b`` paths), or of one partition."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(
            dg.AssetKey.from_user_string(key),
            asset_partitions=None if partition is None else [partition],
        ),
        limit=1,
    ).records
    assert records, f"{key} {partition or ''} was never materialized"
    return records[0].asset_materialization


def status(instance: dg.DagsterInstance, key: str, partition: str | None = None) -> str:
    return latest(instance, key, partition).metadata["skipwise/status"].value
