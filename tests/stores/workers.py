"""Cached functions that store tests run, also in forked worker processes."""

from __future__ import annotations

import time
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
