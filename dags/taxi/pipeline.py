"""The taxi pipeline on plain skipwise: every step cached, wired by ordinary calls."""

import time

import skipwise
from taxi import steps

trips = skipwise.cached(steps.make_trips, name="taxi.trips")
cleaned = skipwise.cached(steps.clean, name="taxi.cleaned")
fare_features = skipwise.cached(steps.fare_features, name="taxi.fare_features")
time_features = skipwise.cached(steps.time_features, name="taxi.time_features")
model = skipwise.cached(steps.fit_model, name="taxi.model")
metrics = skipwise.cached(steps.evaluate, name="taxi.metrics")


def run(n_trips: int = 200_000) -> list[dict]:
    """Run every step; return what each one did (reused or computed, why, how long)."""
    report = []

    def step(fn: skipwise.Cached, *args):
        started = time.perf_counter()
        outcome = fn.run(*args)
        seconds = time.perf_counter() - started
        report.append(
            {
                "step": fn.name,
                "status": outcome.status,
                "reason": outcome.reason,
                "seconds": seconds,
            }
        )
        return outcome.value

    raw = step(trips, n_trips)
    clean = step(cleaned, raw)
    fares = step(fare_features, clean)
    times = step(time_features, clean)
    fitted = step(model, fares, times)
    step(metrics, fitted, fares, times)
    return report
