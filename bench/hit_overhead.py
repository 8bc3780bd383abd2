"""Cache-hit overhead: skipwise vs joblib.Memory, hitting the same function in the same run.

(a) A tiny function with a few helpers. Target: skipwise <= 1.0x joblib.
(b) Warm hits of a root reaching 10, 100, 1,000 and 5,000 functions (a generated chain across
    modules, ``bench/_generate.py``). joblib checks only the function's own code, once per
    process; skipwise covers everything the root reaches, by a stamp of what can have changed
    (``skipwise.watch``). Target at 5,000: skipwise <= 2.0x joblib.

Rounds alternate between the two sides; medians and the range of per-round ratios are printed,
CPU time next to wall (the machine is shared: the verdict is on CPU time).
"""

from __future__ import annotations

import functools
import importlib
import sys
import tempfile
from pathlib import Path

import joblib

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import alternating, report_rounds
from _generate import chain_package

import skipwise

RATE = 1.5


def clip(x):
    return max(0.0, min(x, 100.0))


def scale(x):
    return clip(x) * RATE


def tiny(values, bias=0.0):
    return [scale(v) + bias for v in values]


def _pair(tmp: Path, fn, label: str):
    ours = skipwise.cached(fn, store=skipwise.open_store(tmp / f"skipwise-{label}"))
    theirs = joblib.Memory(tmp / f"joblib-{label}", verbose=0).cache(fn)
    return ours, theirs


def main(rounds: int = 7) -> None:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        args = ([1.0, 2.0, 3.0, 4.0], 0.5)
        ours, theirs = _pair(tmp, tiny, "tiny")
        assert ours(*args) == theirs(*args) == ours(*args) == theirs(*args)
        assert ours.run(*args).status == "reused"
        timings = alternating(
            {"skipwise": lambda: ours(*args), "joblib": lambda: theirs(*args)}, rounds, 300
        )
        report_rounds("(a) hit, tiny function", timings["skipwise"], timings["joblib"], 1.0)
        sys.path.insert(0, str(tmp))
        for functions in (10, 100, 1_000, 5_000):
            modules = max(1, functions // 100)
            target = chain_package(tmp, f"chain{functions}", functions, modules)
            module, _, name = target.partition(":")
            root = getattr(importlib.import_module(module), name)
            ours, theirs = _pair(tmp, root, str(functions))
            for _ in range(3):  # computed, then warm: the stamp is taken on the first warm hit
                assert ours(1) == theirs(1)
            assert ours.run(1).status == "reused"
            timings = alternating(
                {"skipwise": functools.partial(ours, 1), "joblib": functools.partial(theirs, 1)},
                rounds,
                100,
            )
            report_rounds(
                f"(b) warm hit, root reaching {functions:,} functions",
                timings["skipwise"],
                timings["joblib"],
                2.0 if functions == 5_000 else None,
            )


if __name__ == "__main__":
    main()
