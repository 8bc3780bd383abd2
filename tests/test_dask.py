"""Plain skipwise-cached functions run by Dask distributed workers (``LocalCluster`` with two
worker processes) sharing one store: where the user's own parallelism is Dask, each signature
is still computed once, a fresh set of workers reuses everything, and after a helper changes
only what reaches it runs again. Bodies append to a file: the counts are what executed in any
worker."""

from __future__ import annotations

import contextlib
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from distributed import Client, LocalCluster

from skipwise import open_store

pytestmark = pytest.mark.executors

HELPERS = """
    FACTOR = 2

    def grow(x):
        return x * FACTOR
"""
STEPS = """
    import os

    import skipwise
    from dask_helpers import grow

    def record(call):
        with open(os.environ["DASK_CALLS"], "a") as log:
            log.write(call + "\\n")

    @skipwise.cached
    def square(x):
        record(f"square:{x}")
        return grow(x) ** 2

    @skipwise.cached
    def total(values):
        record("total")
        return sum(values)
"""


def test_dask_workers_share_one_store(
    tmp_path: Path, isolated_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "modules"
    folder.mkdir()
    for name, source in {"dask_helpers": HELPERS, "dask_steps": STEPS}.items():
        (folder / f"{name}.py").write_text(textwrap.dedent(source).lstrip())
    calls = tmp_path / "calls.log"
    # Workers are new processes: they read the store, the counter and the code from here.
    monkeypatch.setenv("DASK_CALLS", str(calls))
    monkeypatch.setenv("PYTHONPATH", str(folder))
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.syspath_prepend(str(folder))

    def bodies() -> list[str]:
        ran = sorted(calls.read_text().split()) if calls.exists() else []
        calls.unlink(missing_ok=True)
        return ran

    inputs = [1, 2, 3] + [5] * 8  # eight separate tasks with one signature

    def run(client: Client) -> int:
        steps = sys.modules["dask_steps"]
        squares = client.map(steps.square, inputs, pure=False)
        return client.submit(steps.total, squares, pure=False).result()

    _import_steps()
    with workers() as client:
        assert run(client) == sum((2 * x) ** 2 for x in inputs)
        assert bodies() == ["square:1", "square:2", "square:3", "square:5", "total"]
        assert len(client.scheduler_info()["workers"]) == 2

    with workers() as client:  # new worker processes, nothing in memory
        assert run(client) == sum((2 * x) ** 2 for x in inputs)
        assert bodies() == []

    (folder / "dask_helpers.py").write_text(
        textwrap.dedent(HELPERS).lstrip().replace("FACTOR = 2", "FACTOR = 3")
    )
    _import_steps()
    with workers() as client:
        assert run(client) == sum((3 * x) ** 2 for x in inputs)
        assert bodies() == ["square:1", "square:2", "square:3", "square:5", "total"]

    # Everything the workers stored is in the one store this process reads.
    assert len(list(open_store(isolated_store).manifests())) == 10


@contextlib.contextmanager
def workers() -> Iterator[Client]:
    """Two Dask worker processes (two threads each) and a client."""
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=2, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        client.wait_for_workers(2)
        yield client


def _import_steps() -> None:
    """This process's copy of the steps, current (what the client pickles by reference)."""
    import importlib

    for name in ("dask_steps", "dask_helpers"):
        sys.modules.pop(name, None)
    importlib.invalidate_caches()
    importlib.import_module("dask_steps")
