"""(a) Cache-hit overhead of a tiny function with a few helpers: skipwise vs joblib.Memory.

Both cache the same function in the same process on local disk; each is called until it only
hits, then timed. Target: skipwise <= 1.0x joblib.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import joblib

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import best_of, report

import skipwise

RATE = 1.5


def clip(x):
    return max(0.0, min(x, 100.0))


def scale(x):
    return clip(x) * RATE


def tiny(values, bias=0.0):
    return [scale(v) + bias for v in values]


def main() -> None:
    args = ([1.0, 2.0, 3.0, 4.0], 0.5)
    with tempfile.TemporaryDirectory() as tmp:
        ours = skipwise.cached(tiny, store=skipwise.open_store(Path(tmp) / "skipwise"))
        theirs = joblib.Memory(Path(tmp) / "joblib", verbose=0).cache(tiny)
        assert ours(*args) == theirs(*args) == ours(*args) == theirs(*args)
        assert ours.run(*args).status == "reused"
        ours_t = best_of(lambda: ours(*args), repeat=7, number=300)
        joblib_t = best_of(lambda: theirs(*args), repeat=7, number=300)
    report("cache hit, skipwise vs joblib.Memory", ours_t, joblib_t, 1.0)


if __name__ == "__main__":
    main()
