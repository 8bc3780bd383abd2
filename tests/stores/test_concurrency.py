"""Eight processes computing the same signature at once: one entry, every caller correct."""

from __future__ import annotations

import multiprocessing
from datetime import timedelta

from skipwise import configure
from skipwise.config import current_store
from skipwise.gc import Policy, plan_collection
from tests.stores import workers

WRITERS = 8


def test_eight_writers_one_entry(store_url: str) -> None:
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(WRITERS)
    results = context.Queue()
    processes = [
        context.Process(target=workers.compute_together, args=(store_url, barrier, results, 500))
        for _ in range(WRITERS)
    ]
    for process in processes:
        process.start()
    answers = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    assert [a for a in answers if a[0] != "ok"] == []
    assert all(correct for _, _, correct in answers)
    assert {status for _, status, _ in answers} <= {"computed", "reused"}
    assert all(process.exitcode == 0 for process in processes)

    configure(store=store_url)
    store = current_store()
    manifests = list(store.manifests())
    assert len(manifests) == 1
    assert store.load(manifests[0]).equals(workers.frame(500))
    # Losing writers cleaned up after themselves: nothing is left for gc.
    report = plan_collection(store, Policy(leftover_grace=timedelta(0)))
    assert report.leftovers == []
    assert workers.table.run(500).status == "reused"
