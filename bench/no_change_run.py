"""A no-change run of a generated pipeline against a process that only imports it.

60 cached steps over 300 helpers in 20 modules (``bench/_generate.py``), each step transforming
the previous step's 1,000,000-row DataFrame. One cold run fills a fresh store; then fresh
processes alternate: one imports the pipeline's modules only (skipwise, pandas, the helpers),
the other imports them and runs the whole pipeline, every step a hit, printing the last (small)
result. A hit loads nothing until it is used (``skipwise.deferred``), so the run reads the data of
that last result only. Targets: the run's CPU time <= 1.3x the imports', its peak memory
<= 1.5x theirs.

Usage: ``python bench/no_change_run.py [--rows N] [--rounds N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _generate import pipeline_package

STEPS, HELPERS, MODULES = 60, 300, 20


def child(what: str, rows: int) -> None:
    """In a fresh process: import (and with ``run``, run) the pipeline; print the cost."""
    started = time.perf_counter()
    import pipeline.steps as steps

    if what in ("run", "cold"):
        print(steps.run(rows).to_string(), file=sys.stderr)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "cpu": usage.ru_utime + usage.ru_stime,
                "wall": time.perf_counter() - started,
                "peak_mb": usage.ru_maxrss / 1024,
            }
        )
    )


def _spawn(what: str, root: Path, rows: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(root), "SKIPWISE_QUIET": "1"}
    env["SKIPWISE_STORE"] = str(root / "store")
    command = [sys.executable, __file__, "--child", what, "--rows", str(rows)]
    done = subprocess.run(command, env=env, cwd=root, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--child")
    options = parser.parse_args()
    if options.child:
        child(options.child, options.rows)
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        pipeline_package(root, "pipeline", STEPS, HELPERS, MODULES)
        cold = _spawn("cold", root, options.rows)
        imports: list[dict[str, float]] = []
        runs: list[dict[str, float]] = []
        for r in range(options.rounds):
            order = (("imports", imports), ("run", runs))
            for what, into in order if r % 2 == 0 else reversed(order):
                into.append(_spawn(what, root, options.rows))
    print(
        f"{STEPS} steps, {HELPERS} helpers in {MODULES} modules, {options.rows:,} rows; "
        f"{options.rounds} rounds, fresh processes, alternating"
    )
    print(
        f"cold run: CPU {cold['cpu']:.2f}s, wall {cold['wall']:.2f}s, peak {cold['peak_mb']:.0f} MB"
    )
    for key, label, target in (
        ("cpu", "CPU", 1.3),
        ("wall", "wall", None),
        ("peak_mb", "peak memory", 1.5),
    ):
        ours = statistics.median(x[key] for x in runs)
        base = statistics.median(x[key] for x in imports)
        ratios = [a[key] / b[key] for a, b in zip(runs, imports, strict=True)]
        unit = " MB" if key == "peak_mb" else "s"
        verdict = (
            ""
            if target is None
            else f"  target <= {target}x: {'met' if ours / base <= target else 'MISSED'}"
        )
        print(
            f"no-change run vs imports only, {label}: {ours:.2f}{unit} vs {base:.2f}{unit} -> "
            f"{ours / base:.2f}x (rounds {min(ratios):.2f}-{max(ratios):.2f}x){verdict}"
        )
    no_change = statistics.median(x["cpu"] for x in runs)
    print(f"no-change run CPU vs the cold run's: {no_change / cold['cpu']:.1%}")


if __name__ == "__main__":
    main()
