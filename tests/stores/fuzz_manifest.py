"""Atheris harness: arbitrary bytes as an entry's manifest, read by stores with and without a
signing key. Whatever the bytes, reading, loading, listing and sweeping the store either work
or raise a skipwise error; anything else is a crash (test_bad_input.py runs this file).

    python tests/stores/fuzz_manifest.py CORPUS_DIR -runs=N -dict=FILE
"""

from __future__ import annotations

import logging
import sys
from datetime import timedelta

import atheris
import fsspec  # noqa: F401  (libraries are imported first: only skipwise is instrumented)

with atheris.instrument_imports(include=["skipwise"]):
    from skipwise.errors import SkipwiseError
    from skipwise.store import open_store

SIGNATURE = "ab" * 32
logging.getLogger("skipwise.store").disabled = True  # skipped entries are logged: not wanted here
PLAIN = open_store("memory://fuzz")
KEYED = open_store("memory://fuzz", signing_key=b"fuzzing key, 16+ bytes")


def one_input(data: bytes) -> None:
    PLAIN.fs.pipe_file(PLAIN._where(SIGNATURE), data)
    for store in (PLAIN, KEYED):
        try:
            manifest = store.manifest(SIGNATURE)
            if manifest is not None:
                store.tree(manifest)
                store.load(manifest)
        except SkipwiseError:
            pass
        list(store.manifests())
        list(store.leftovers(timedelta(0)))


def seed(folder: str) -> None:
    """A valid entry (its data and tree stay), and its manifests as seeds."""
    for number, store in enumerate((PLAIN, KEYED)):
        manifest = store.save(
            SIGNATURE, {"n": [1, 2]}, codec="json", name="fuzz", tree={}, producer={}, replace=True
        )
        with open(f"{folder}/seed-{number}.json", "wb") as handle:
            handle.write(manifest.to_json())


if __name__ == "__main__":
    seed(sys.argv[1])
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
