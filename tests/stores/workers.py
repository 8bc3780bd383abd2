"""Cached functions that store tests run, also in forked worker processes."""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Callable
from typing import Any

import pandas as pd

import skipwise
from skipwise import config


def frame(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {"n": range(n), "label": [f"row {i}" for i in range(n)], "half": [i / 2 for i in range(n)]}
    )


@skipwise.cached(name="stores.table")
def table(n: int) -> pd.DataFrame:
    time.sleep(0.3)  # long enough for every concurrent writer to be computing at once
    return frame(n)


@skipwise.cached(name="stores.numbers")
def numbers(n: int) -> dict[str, Any]:
    return {"n": n, "squares": [i * i for i in range(n)]}


def compute_together(url: str, barrier: Any, results: Any, n: int) -> None:
    """One of several processes that compute ``table(n)`` at the same moment."""
    try:
        skipwise.configure(store=url)
        barrier.wait(timeout=60)
        outcome = table.run(n)
        results.put(("ok", outcome.status, bool(outcome.value.equals(frame(n)))))
    except BaseException as exc:  # reported to the parent, which fails the test
        results.put(("error", repr(exc), False))


def hang_before_commit(url: str, writing: Any, n: int) -> None:
    """Compute ``table(n)``, write its data, then stop dead before the commit (to be killed)."""
    skipwise.configure(store=url)
    store = config.current_store()

    def hang(*args: Any, **kwargs: Any) -> None:
        writing.set()
        time.sleep(600)

    type(store)._commit = hang  # type: ignore[method-assign]  # this process only
    table(n)


@skipwise.cached(name="stores.rows")
def rows(n: int) -> pd.DataFrame:
    return frame(n)


def expected(kind: str, n: int) -> Any:
    return frame(n) if kind == "rows" else {"n": n, "squares": [i * i for i in range(n)]}


def same(kind: str, value: Any, n: int) -> bool:
    wanted = expected(kind, n)
    return bool(value.equals(wanted)) if kind == "rows" else value == wanted


def write_until_killed(url: str, ready: Any, sizes: list[int]) -> None:
    """Store ``rows(n)`` and ``numbers(n)`` for each n, as fast as it can, until killed."""
    skipwise.configure(store=url)
    config.current_store().exists("00" * 32)  # connected: from here on it only writes
    ready.set()
    for n in sizes:
        rows(n)
        numbers(n)


# --- compute once: processes that call one signature together --------------------------------

# Short when the holder is to be killed, so that its lease expires within the test; else long,
# so that a heartbeat late on a busy machine never lets a second caller in.
LEASE_TTL = {"hang": 3.0, "return": 120.0, "raise": 120.0}


class _SignalWaiting(logging.Handler):
    """Puts this process's pid on ``queue`` the first time it logs that it waits for a lease."""

    def __init__(self, queue: Any) -> None:
        super().__init__()
        self.queue = queue
        self.sent = False

    def emit(self, record: logging.LogRecord) -> None:
        if not self.sent and record.getMessage().startswith("waiting for "):
            self.sent = True
            self.queue.put(os.getpid())


@skipwise.cached(name="stores.once", ignore=["calls", "first"])
def once(n: int, calls: str, first: Callable[[], None]) -> dict[str, int]:
    """Record this call in ``calls``; the first caller runs ``first`` before it returns."""
    with open(calls, "a") as handle:
        handle.write(f"{os.getpid()}\n")
    with open(calls) as handle:
        if handle.readline().strip() == str(os.getpid()):
            first()
    return {"n": n}


def first_caller(mode: str, waiting: Any, started: Any, others: int) -> None:
    """What the first caller's body does: "return" or "raise" once every other caller waits
    for its lease, or "hang" (to be killed)."""
    started.put(os.getpid())
    if mode == "hang":
        time.sleep(600)
    for _ in range(others):
        waiting.get(timeout=120)
    if mode == "raise":
        raise RuntimeError("the first body failed")


def call_once(
    url: str, mode: str, calls: str, barrier: Any, waiting: Any, started: Any, results: Any
) -> None:
    """One of several processes calling ``once(5)`` at the same moment."""
    try:
        skipwise.configure(store=url, lease_ttl=LEASE_TTL[mode])
        store_log = logging.getLogger("skipwise.store")
        store_log.setLevel(logging.INFO)
        store_log.addHandler(_SignalWaiting(waiting))
        first = functools.partial(first_caller, mode, waiting, started, barrier.parties - 1)
        barrier.wait(timeout=60)
        outcome = once.run(5, calls, first)
        results.put(("ok", str(outcome.status), outcome.reason, outcome.value))
    except BaseException as exc:  # reported to the parent, which checks it
        results.put(("error", repr(exc), "", None))


@skipwise.cached(name="stores.busy")
def busy(worker: int, n: int) -> dict[str, int]:
    return {"worker": worker, "n": n}


def write_many(url: str, options: dict[str, Any], worker: int, calls: int, results: Any) -> None:
    """Store ``busy(worker, n)`` for each n, reporting what each call returned or raised."""
    skipwise.configure(store=url, storage_options=options)
    for n in range(calls):
        try:
            results.put(("ok", worker, n, busy(worker, n)))
        except BaseException as exc:
            results.put(("error", worker, n, repr(exc)))
