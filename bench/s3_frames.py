"""(c) Writing and reading a 1-million-row mixed-type DataFrame on S3 (a local moto server):
the store vs s3fs + pyarrow directly.

The frame is ``dataframe_io.frame`` (seven columns of mixed types). The store's write streams
Parquet through a checksumming writer into a unique object, then writes the signature tree and
the manifest; its read fetches and verifies the checksum. Baseline: ``pq.write_table(
pa.Table.from_pandas(df), f)`` into an s3fs file, and ``pq.read_table(f).to_pandas()`` from one.
Rounds alternate; medians and ranges of wall and CPU time. Target: <= 1.1x each way.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.stores helpers

import pyarrow as pa
import pyarrow.parquet as pq
from dataframe_io import TREE, compare, frame

from skipwise.store import FilesystemStore, open_store
from tests.stores.conftest import new_bucket
from tests.stores.servers import aws_environment, moto_server

ROWS = 1_000_000


def main() -> None:
    df = frame(ROWS)
    with moto_server() as endpoint:
        os.environ.update(aws_environment(endpoint))
        bucket = new_bucket(endpoint)
        store = open_store(f"s3://{bucket}/cache")
        assert isinstance(store, FilesystemStore)
        fs = store.fs
        raw = f"{bucket}/raw/frame.parquet"
        counter = iter(range(10**6))

        def raw_write() -> None:
            with fs.open(raw, "wb") as handle:
                pq.write_table(pa.Table.from_pandas(df), handle)

        def store_write() -> None:
            signature = f"{next(counter):064x}"
            store.save(signature, df, codec="pandas", name="bench.frame", tree=TREE, producer={})

        def raw_read() -> object:
            with fs.open(raw, "rb") as handle:
                return pq.read_table(handle).to_pandas()

        print(f"{ROWS:,} rows on S3 (moto server at {endpoint})")
        compare("S3 write", store_write, raw_write, "s3fs + pyarrow")
        manifest = store.manifest(f"{0:064x}")
        compare("S3 read", lambda: store.load(manifest), raw_read, "s3fs + pyarrow")
        assert store.load(manifest).equals(df)


if __name__ == "__main__":
    main()
