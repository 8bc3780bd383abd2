"""The one hash function skipwise uses: BLAKE3, 256 bits, hex encoded.

BLAKE3 is cryptographic (signatures are keys into shared stores) and fast enough to checksum
multi-gigabyte Parquet files on the read path.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any, BinaryIO

import blake3

# Bump when the meaning of a signature changes, so old stores are never misread.
SIGNATURE_SCHEME = b"skipwise-signature-v1"

# Above this size, BLAKE3 hashes with all cores.
_PARALLEL_THRESHOLD = 1 << 20


def digest_bytes(data: bytes | bytearray | memoryview | Any) -> str:
    """BLAKE3 of any buffer (bytes, memoryview, a memory-mapped Arrow buffer)."""
    view = memoryview(data)
    threads = blake3.blake3.AUTO if view.nbytes >= _PARALLEL_THRESHOLD else 1
    return blake3.blake3(view, max_threads=threads).hexdigest()


def digest_parts(parts: Iterable[str | bytes]) -> str:
    """Digest of a sequence of parts, each length-prefixed so that boundaries count."""
    h = blake3.blake3()
    for part in parts:
        raw = part.encode("utf-8", "surrogatepass") if isinstance(part, str) else part
        h.update(len(raw).to_bytes(8, "little"))
        h.update(raw)
    return h.hexdigest()


def file_digest(path: str | os.PathLike[str]) -> str:
    """BLAKE3 of a file, memory-mapped and on all cores."""
    h = blake3.blake3(max_threads=blake3.blake3.AUTO)
    if os.path.getsize(path):
        h.update_mmap(path)
    return h.hexdigest()


class HashingWriter:
    """A write-only file that checksums what passes through it, so writing and checksumming a
    large result is one pass (and the encoder can overlap with the disk)."""

    def __init__(self, target: BinaryIO):
        self._target = target
        self._hash = blake3.blake3(max_threads=blake3.blake3.AUTO)
        self.size = 0
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self._hash.update(data)
        self._target.write(data)
        written = memoryview(data).nbytes
        self.size += written
        return written

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        self._target.flush()

    def writable(self) -> bool:
        return True

    def close(self) -> None:
        self.closed = True  # the caller owns the target

    def hexdigest(self) -> str:
        return self._hash.hexdigest()
