"""A writer killed with SIGKILL mid-write: nothing visible, the next call recomputes, gc cleans."""

from __future__ import annotations

import multiprocessing
import os
import signal
from datetime import timedelta

from skipwise import configure
from skipwise.config import current_store
from skipwise.gc import Policy, collect, plan_collection
from tests.stores import workers


def test_killed_writer_leaves_no_result(store_url: str, backend: str) -> None:
    context = multiprocessing.get_context("fork")
    writing = context.Event()
    child = context.Process(target=workers.hang_before_commit, args=(store_url, writing, 300))
    child.start()
    try:
        assert writing.wait(timeout=60), "the writer never reached its commit"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.join(timeout=30)
    assert child.exitcode == -signal.SIGKILL

    configure(store=store_url)
    store = current_store()
    signature = workers.table.signature(300)
    assert store.manifest(signature) is None
    assert store.exists_many([signature]) == set()
    assert list(store.manifests()) == []

    outcome = workers.table.run(300)
    assert outcome.status == "computed"
    assert outcome.value.equals(workers.frame(300))

    report = plan_collection(store, Policy(leftover_grace=timedelta(0)))
    if backend in ("local", "s3"):
        # The dead writer's data and tree files; SQL rolled its transaction back instead.
        assert len(report.leftovers) == 2
    else:
        assert report.leftovers == []
    assert report.drop == []
    collect(store, report)
    assert list(store.leftovers(timedelta(0))) == []
    assert workers.table.run(300).status == "reused"
