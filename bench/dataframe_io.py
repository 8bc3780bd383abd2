"""(c) Writing and reading a 5-million-row mixed-type DataFrame through the local store vs pyarrow.

The frame has seven columns: int64, float64, string, timestamp, category, boolean and a
nullable integer with missing values. The store adds a checksum (BLAKE3) on both paths, a unique
data file, a signature tree and a manifest written last. Baseline: ``pq.write_table(
pa.Table.from_pandas(df), path)`` and ``pq.read_table(path).to_pandas()``. Rounds alternate
between the two sides; medians and ranges of wall and CPU time (the process's, all threads) are
reported, and the ratio of the medians. Target: writes <= 1.1x, on a busy machine too (CPU).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import report

from skipwise.store import open_store

ROWS = 5_000_000
ROUNDS = 5
TREE = {"signature": "0" * 64, "name": "bench.frame", "note": "a small signature tree"}


def frame(rows: int = ROWS) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    counts = pd.array(rng.integers(0, 9, rows), dtype="Int64")
    counts[rng.random(rows) < 0.1] = pd.NA
    return pd.DataFrame(
        {
            "id": np.arange(rows),
            "fare": rng.normal(12, 4, rows),
            "street": rng.choice([f"street {i}" for i in range(1000)], rows),
            "at": pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 10**9, rows), "s"),
            "zone": pd.Categorical(rng.choice(["north", "south", "east", "west"], rows)),
            "paid": rng.random(rows) < 0.5,
            "count": counts,
        }
    )


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def spread(values: list[float]) -> str:
    return f"median {statistics.median(values):.3f}s ({min(values):.3f}-{max(values):.3f})"


def compare(
    label: str, ours: Callable[[], object], theirs: Callable[[], object], baseline: str = "pyarrow"
) -> None:
    """Alternating rounds of both sides; the ratio of the median wall and CPU times."""
    rounds: list[tuple[float, float, float, float]] = []
    for _ in range(ROUNDS):
        rounds.append((*timed(theirs), *timed(ours)))
    their_wall, their_cpu, our_wall, our_cpu = map(list, zip(*rounds, strict=True))
    print(f"{label}: store wall {spread(our_wall)}, CPU {spread(our_cpu)}")
    print(f"{' ' * len(label)}  {baseline} wall {spread(their_wall)}, CPU {spread(their_cpu)}")
    median = statistics.median
    report(f"{label}, CPU", median(our_cpu), median(their_cpu), 1.1)
    report(f"{label}, wall", median(our_wall), median(their_wall), 1.1)


def main() -> None:
    df = frame()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        store = open_store(root / "store")
        counter = iter(range(10**6))

        def raw_write() -> None:
            pq.write_table(pa.Table.from_pandas(df), root / "raw.parquet")

        def store_write() -> None:
            signature = f"{next(counter):064x}"
            store.save(signature, df, codec="pandas", name="bench.frame", tree=TREE, producer={})

        print(f"{ROWS:,} rows, {df.memory_usage(deep=True).sum() / 2**20:.0f} MiB in memory")
        compare("write", store_write, raw_write)
        manifest = store.manifest(f"{0:064x}")
        compare(
            "read",
            lambda: store.load(manifest),
            lambda: pq.read_table(root / "raw.parquet").to_pandas(),
        )
        assert store.load(manifest).equals(df)


if __name__ == "__main__":
    main()
