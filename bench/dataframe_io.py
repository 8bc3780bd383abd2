"""(c) Writing and reading a 5-million-row DataFrame through the store vs raw pyarrow Parquet.

The store adds a checksum (BLAKE3) on both paths, a unique data file, a signature tree and a
manifest written last. Baseline: ``pq.write_table(pa.Table.from_pandas(df), path)`` and
``pq.read_table(path).to_pandas()``. Target: <= 1.15x each way.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import best_of, report

from skipwise.store import open_store

ROWS = 5_000_000
TREE = {"signature": "0" * 64, "name": "bench.frame", "note": "a small signature tree"}


def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "id": np.arange(ROWS),
            "fare": rng.normal(12, 4, ROWS),
            "km": rng.gamma(2, 1.5, ROWS),
            "passengers": rng.integers(1, 5, ROWS).astype("int8"),
            "zone": pd.Categorical(rng.choice(["north", "south", "east", "west"], ROWS)),
        }
    )


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

        raw_w = best_of(raw_write, repeat=3)
        ours_w = best_of(store_write, repeat=3)
        manifest = store.manifest(f"{0:064x}")
        raw_r = best_of(lambda: pq.read_table(root / "raw.parquet").to_pandas(), repeat=3)
        ours_r = best_of(lambda: store.load(manifest), repeat=3)
        assert store.load(manifest).equals(df)
    print(f"{ROWS:,} rows, {df.memory_usage(deep=True).sum() / 2**20:.0f} MiB in memory")
    report("write through the store vs raw pyarrow", ours_w, raw_w, 1.15)
    report("read through the store vs raw pyarrow", ours_r, raw_r, 1.15)


if __name__ == "__main__":
    main()
