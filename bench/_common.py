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


def alternating(
    sides: dict[str, Callable[[], object]], rounds: int = 7, number: int = 100
) -> dict[str, list[tuple[float, float]]]:
    """(wall, CPU) seconds per call of each side, per round; the sides take turns within a
    round and the order flips every round, so a busy machine weighs on both alike."""
    names = list(sides)
    timings: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names if r % 2 == 0 else reversed(names):
            fn = sides[name]
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(number):
                fn()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            timings[name].append((wall / number, cpu / number))
    return timings


def report_rounds(
    label: str,
    ours: list[tuple[float, float]],
    baseline: list[tuple[float, float]],
    target: float | None,
    unit: float = 1e-6,
    unit_name: str = "us",
) -> None:
    """Medians of each side and the ratio of medians, CPU next to wall, with the range of the
    per-round ratios; the verdict is on CPU time (the machine is shared)."""
    import statistics

    parts = []
    for i, kind in ((1, "CPU"), (0, "wall")):
        a = statistics.median(t[i] for t in ours)
        b = statistics.median(t[i] for t in baseline)
        ratios = [x[i] / y[i] for x, y in zip(ours, baseline, strict=True)]
        parts.append(
            f"{kind} {a / unit:.1f}{unit_name} vs {b / unit:.1f}{unit_name} -> {a / b:.2f}x "
            f"(rounds {min(ratios):.2f}-{max(ratios):.2f}x)"
        )
        if i == 1:
            ratio = a / b
    verdict = ""
    if target is not None:
        verdict = f"  target <= {target:.2f}x: {'met' if ratio <= target else 'MISSED'}"
    print(f"{label} [{len(ours)} rounds]: {'; '.join(parts)}{verdict}")
