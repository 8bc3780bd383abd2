"""Compute once: a lease per signature on every backend.

Eight processes call one signature together. The first computes; the others wait for its
lease and are served its result. A holder that raises releases the lease, one killed with
SIGKILL loses it when it expires: either way one waiter computes and the rest reuse that.
Body calls are counted exactly (a line per call in a file), which only the lease guarantees.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from pathlib import Path
from typing import Any

import pytest

from skipwise import LeaseHeld, SkipwiseError, Status, cached, configure
from skipwise.config import current_store
from skipwise.store import open_store
from skipwise.store.base import producer_info
from tests.stores import workers

CALLERS = 8


def run_together(store_url: str, mode: str, tmp_path: Path) -> tuple[list[tuple], list[str]]:
    """``CALLERS`` processes call ``workers.once(5)`` at once; the first caller's body does
    ``mode``. Their answers, and the pid of each body call."""
    # Signed and the store's libraries imported here: the forked callers start warm.
    workers.once.signature(5, "", print)
    open_store(store_url).exists("00" * 32)
    context = multiprocessing.get_context("fork")
    calls = tmp_path / "calls.txt"
    barrier = context.Barrier(CALLERS)
    waiting, started, results = context.Queue(), context.Queue(), context.Queue()
    args = (store_url, mode, str(calls), barrier, waiting, started, results)
    processes = [context.Process(target=workers.call_once, args=args) for _ in range(CALLERS)]
    for process in processes:
        process.start()
    try:
        answers = CALLERS
        if mode == "hang":  # killed once every other caller waits for its lease
            holder = started.get(timeout=120)
            for _ in range(CALLERS - 1):
                waiting.get(timeout=120)
            os.kill(holder, signal.SIGKILL)
            answers -= 1
        collected = [results.get(timeout=120) for _ in range(answers)]
    finally:
        for process in processes:
            process.join(timeout=60)
            if process.exitcode is None:
                process.kill()
    return collected, calls.read_text().split()


def assert_one_computed_rest_reused(answers: list[tuple], store_url: str) -> None:
    configure(store=store_url)
    stored = current_store().manifest(workers.once.signature(5, "", print))
    assert stored is not None
    computed = [a for a in answers if a[:2] == ("ok", Status.COMPUTED)]
    reused = [a for a in answers if a[:2] == ("ok", Status.REUSED)]
    assert len(computed) == 1
    assert len(reused) == len(answers) - 1 - sum(a[0] == "error" for a in answers)
    concurrent = f"computed concurrently by {stored.producer_text()}"
    assert {reason for _, _, reason, _ in reused} == {concurrent}
    assert all(value == {"n": 5} for _, _, _, value in computed + reused)


def test_eight_callers_compute_once(store_url: str, tmp_path: Path) -> None:
    answers, calls = run_together(store_url, "return", tmp_path)
    assert [a for a in answers if a[0] != "ok"] == []
    assert len(calls) == 1
    assert_one_computed_rest_reused(answers, store_url)


def test_a_holder_that_raises_lets_a_waiter_compute(store_url: str, tmp_path: Path) -> None:
    answers, calls = run_together(store_url, "raise", tmp_path)
    errors = [a for a in answers if a[0] == "error"]
    assert len(errors) == 1 and "the first body failed" in errors[0][1]
    assert len(calls) == 2
    assert_one_computed_rest_reused(answers, store_url)


def test_a_killed_holder_loses_its_lease_when_it_expires(store_url: str, tmp_path: Path) -> None:
    answers, calls = run_together(store_url, "hang", tmp_path)
    assert [a for a in answers if a[0] != "ok"] == []
    assert len(answers) == CALLERS - 1
    assert len(calls) == 2  # the killed body, then one waiter's
    assert_one_computed_rest_reused(answers, store_url)


# --- policies: compute anyway, or fail -----------------------------------------------------


@cached(name="stores.leased")
def leased(n: int) -> int:
    leased.calls.append(n)  # type: ignore[attr-defined]
    return n * 10


leased.calls = []  # type: ignore[attr-defined]


@pytest.fixture
def held(store_url: str) -> Any:
    """The lease on ``leased(1)``, held by someone else while the test runs."""
    configure(store=store_url)
    leased.calls.clear()  # type: ignore[attr-defined]
    other = producer_info({"dag": "nightly", "task": "load"})
    with current_store().lease(leased.signature(1), holder=other) as lease:
        yield lease


def test_fail_policy_names_the_holder(held: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKIPWISE_ON_LEASE_HELD", "fail")
    with pytest.raises(LeaseHeld, match=r"stores\.leased .* is being computed by nightly/load"):
        leased(1)
    monkeypatch.delenv("SKIPWISE_ON_LEASE_HELD")
    configure(on_lease_held="fail")
    with pytest.raises(LeaseHeld, match="nightly/load"):
        leased(1)
    assert leased.calls == []  # type: ignore[attr-defined]


def test_compute_policy_computes_while_another_holds_it(held: Any) -> None:
    anyway = cached(leased.step.fn, name="stores.leased", on_lease_held="compute")
    outcome = anyway.run(1)
    assert (outcome.status, outcome.value) == (Status.COMPUTED, 10)
    assert leased.calls == [1]  # type: ignore[attr-defined]
    assert current_store().manifest(leased.signature(1)) == outcome.manifest


def test_waiting_is_logged_with_the_holder(
    held: Any, caplog: pytest.LogCaptureFixture, store_url: str
) -> None:
    """A waiter says whom it waits for; once the holder commits and releases, the waiter is
    served the holder's result."""
    waiting = threading.Event()

    class Seen(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().startswith("waiting for nightly/load"):
                waiting.set()

    handler = Seen()
    logging.getLogger("skipwise.store").addHandler(handler)
    caplog.set_level(logging.INFO, logger="skipwise")
    try:
        waiter = threading.Thread(target=lambda: outcomes.append(leased.run(1)))
        outcomes: list[Any] = []
        waiter.start()
        assert waiting.wait(timeout=60)
        producer = producer_info({"dag": "nightly", "task": "load"})
        current_store().save(
            leased.signature(1), 10, codec="json", name="stores.leased", tree={}, producer=producer
        )
        held.release()
        waiter.join(timeout=60)
    finally:
        logging.getLogger("skipwise.store").removeHandler(handler)
    (outcome,) = outcomes
    assert (outcome.status, outcome.reason) == (
        Status.REUSED,
        "computed concurrently by nightly/load",
    )
    assert leased.calls == []  # type: ignore[attr-defined]
    assert any(
        "waited" in r.getMessage() and "nightly/load" in r.getMessage() for r in caplog.records
    )


def test_bad_policies_are_named() -> None:
    with pytest.raises(SkipwiseError, match="on_lease_held must be one of"):
        configure(on_lease_held="later")  # type: ignore[arg-type]
    with pytest.raises(SkipwiseError, match="on_lease_held must be one of"):
        cached(on_lease_held="never")(lambda: 1)
    with pytest.raises(SkipwiseError, match="lease_ttl must be a positive"):
        configure(lease_ttl=0)


class _LostReply(Exception):
    """A reply the network lost after the store had done what was asked."""


def test_a_lease_write_whose_reply_was_lost_is_known_as_ours(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store operation is retried when its reply is lost; the retry finds its own lease
    record (taking, renewing or releasing it): it neither waits for itself nor thinks its
    lease was taken over."""
    store = open_store(tmp_path / "store")
    swap = type(store)._swap_lease
    lost = {"count": 0}

    def swap_then_lose_the_reply(self: Any, *args: Any) -> bool:
        done = swap(self, *args)
        if lost["count"] < 3:  # take, renew, release: each loses its first reply
            lost["count"] += 1
            raise _LostReply
        return done

    monkeypatch.setattr(type(store), "_swap_lease", swap_then_lose_the_reply)
    monkeypatch.setattr(type(store), "_transient", lambda self, exc: isinstance(exc, _LostReply))
    signature = "cd" * 32
    lease = store.lease(signature, holder=producer_info(), policy="fail", ttl=30)
    assert lease is not None  # not LeaseHeld naming itself
    renewed = lease.record.renewed()
    assert store._change_lease(signature, lease._stored, renewed.to_json())
    lease._stored, lease.record = renewed.to_json(), renewed
    lease.release()
    assert store._read_lease(signature) is None
    assert lost["count"] == 3
