"""Cold signing and warm hits of two checkouts of skipwise, measured in the same run.

Guards against regressions between revisions (e.g. "no more than 10% slower than before this
change"). Each checkout needs its own ``.venv`` (``make .venv/.installed``); this script runs
each measurement in a fresh process of that checkout's Python, alternating A and B every
round, on the same generated codebase (bench/signature_scale.py's generator: 1,000 functions in
50 modules). It prints medians and min-max of CPU time and wall time, and B/A ratios.

    python bench/compare_revisions.py /path/to/old-checkout /path/to/new-checkout [rounds]

Measured per fresh process:
- cold: one signing pass over every generated function (nothing signed before);
- hit: a warm hit of a cached root reaching every function of the top layer's module
  chain, per call (mean of 2,000 calls after the first call stored the result).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import signature_scale


def measure(root: Path) -> None:
    """In a fresh process of one checkout: print cold signing and warm hit times as JSON."""
    functions = signature_scale._prepared(root)
    import skipwise
    from skipwise.engine import code_graph, signing_pass

    cpu, wall = time.process_time(), time.perf_counter()
    with signing_pass():
        digests = [code_graph(fn).digest for fn in functions]
    cold = (time.process_time() - cpu, time.perf_counter() - wall)
    assert len(set(digests)) == len(functions)

    root_fn = functions[-1]  # top layer: reaches helpers in every layer below
    cached = skipwise.cached(root_fn, store=skipwise.open_store(root / "store"))
    cached(3)
    assert cached.run(3).status == "reused"
    calls = 2000
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(calls):
        cached(3)
    hit = ((time.process_time() - cpu) / calls, (time.perf_counter() - wall) / calls)
    print(json.dumps({"cold": cold, "hit": hit}))


def _run(checkout: Path, root: Path) -> dict[str, list[float]]:
    python = checkout / ".venv" / "bin" / "python"
    command = [str(python), __file__, "--measure", str(root)]
    out = subprocess.run(command, check=True, capture_output=True, text=True, cwd=checkout)
    return json.loads(out.stdout)


def _summary(values: list[float]) -> str:
    return f"{statistics.median(values):.6f} ({min(values):.6f}-{max(values):.6f})"


def main(old: Path, new: Path, rounds: int) -> None:
    results: dict[str, dict[str, list[list[float]]]] = {"A": {}, "B": {}}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        signature_scale.generate(root, modules=50, per_module=20)  # 1,000 functions
        for index in range(rounds):
            order = [("A", old), ("B", new)] if index % 2 == 0 else [("B", new), ("A", old)]
            for side, checkout in order:
                for key, value in _run(checkout, root).items():
                    results[side].setdefault(key, []).append(value)
                # each side's hits write a store; keep rounds independent
                subprocess.run(["rm", "-rf", str(root / "store")], check=True)
    print(f"A = {old}\nB = {new}\n{rounds} rounds, alternating; median (min-max)")
    for key in ("cold", "hit"):
        for column, label in ((0, "CPU"), (1, "wall")):
            a = [v[column] for v in results["A"][key]]
            b = [v[column] for v in results["B"][key]]
            ratio = statistics.median(b) / statistics.median(a)
            print(f"{key:5} {label:4}  A {_summary(a)}  B {_summary(b)}  B/A {ratio:.3f}x")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--measure"]:
        measure(Path(sys.argv[2]))
    else:
        main(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 9)
