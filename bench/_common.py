"""Timing helpers shared by the benchmark scripts: best-of-N wall time, ratio lines."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_of(fn: Callable[[], object], repeat: int = 5, number: int = 1) -> float:
    """Best mean seconds per call over ``repeat`` rounds of ``number`` calls."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - started) / number)
    return best


def report(label: str, ours: float, baseline: float, target: float | None, unit: str = "s") -> None:
    ratio = ours / baseline
    verdict = (
        "" if target is None else ("  [meets target]" if ratio <= target else "  [MISSES target]")
    )
    goal = "" if target is None else f" (target <= {target:.2f}x)"
    print(f"{label}: {ours:.6f}{unit} vs {baseline:.6f}{unit} -> {ratio:.2f}x{goal}{verdict}")
