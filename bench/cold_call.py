"""(b) The first call of a cached function in a fresh process, its code graph cold.

A generated codebase (``signature_scale.generate``: 100 modules of 50 functions, each module
with ``everything(x)`` calling all of its functions) and a root calling every module's
``everything``: the root reaches about 5,000 functions. Its result is stored beforehand; each
measured process imports skipwise, joblib and the codebase, then times one call of the root (``root(1000)``: every function takes its short branch)
cached by skipwise (a hit whose signature is computed from nothing) or by ``joblib.Memory``
(a hit). Rounds alternate; medians and ranges of wall and CPU time. Target: skipwise's first
call <= 100 ms (joblib's is printed for reference: it hashes only the root's own source).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from signature_scale import generate, spread

MODULES, PER_MODULE = 100, 50


def write_root(root: Path) -> None:
    imports = [f"from generated import mod{m}" for m in range(MODULES)]
    calls = " + ".join(f"mod{m}.everything(x)" for m in range(MODULES))
    body = ["def root(x):", f"    return {calls}", ""]
    (root / "code" / "generated" / "root.py").write_text("\n".join([*imports, "", *body]))


def _cached(which: str, root: Path):
    import joblib

    import skipwise

    sys.path.insert(0, str(root / "code"))
    from generated.root import root as fn

    if which == "joblib":
        return joblib.Memory(root / "stores" / "joblib", verbose=0).cache(fn)
    return skipwise.cached(fn, store=skipwise.open_store(root / "stores" / "skipwise"))


def measure(which: str, root: Path) -> None:
    """In a fresh process: wall and CPU seconds of the first call."""
    fn = _cached(which, root)
    wall, cpu = time.perf_counter(), time.process_time()
    fn(1000)
    print(time.perf_counter() - wall, time.process_time() - cpu)
    if which == "skipwise":
        assert fn.run(1000).status == "reused"


def _run(*args: str) -> list[float]:
    command = [sys.executable, __file__, *args]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return [float(x) for x in output.split()]


def main(rounds: int = 5) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "code").mkdir()
        generate(root / "code", MODULES, PER_MODULE, entry=True)
        write_root(root)
        _run("--store", str(root))
        ours_wall, ours_cpu, theirs_wall, theirs_cpu = [], [], [], []
        for _ in range(rounds):
            wall, cpu = _run("--measure", "skipwise", str(root))
            ours_wall.append(wall)
            ours_cpu.append(cpu)
            wall, cpu = _run("--measure", "joblib", str(root))
            theirs_wall.append(wall)
            theirs_cpu.append(cpu)
    ms = 1000
    print(f"root reaching {MODULES * PER_MODULE} functions, first call in a fresh process")
    print(f"skipwise wall {spread(ours_wall, ms, ' ms')}, CPU {spread(ours_cpu, ms, ' ms')}")
    print(f"joblib   wall {spread(theirs_wall, ms, ' ms')}, CPU {spread(theirs_cpu, ms, ' ms')}")
    cpu = statistics.median(ours_cpu)
    verdict = "meets" if cpu <= 0.1 else "MISSES"
    print(f"skipwise first call, CPU: {cpu * ms:.1f} ms (target <= 100 ms): {verdict} target")


def store(root: Path) -> None:
    """Compute and store both caches' results once."""
    for which in ("skipwise", "joblib"):
        _cached(which, root)(1000)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--measure"]:
        measure(sys.argv[2], Path(sys.argv[3]))
    elif sys.argv[1:2] == ["--store"]:
        store(Path(sys.argv[2]))
    else:
        main()
