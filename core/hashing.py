"""The one hash function skipwise uses: BLAKE3, 256 bits, hex encoded.

BLAKE3 is cryptographic (signatures are keys into shared stores) and fast enough to checksum
multi-gigabyte Parquet files on the read path.
"""

from __future__ import annotations

from collections.abc import Iterable

import blake3

# Bump when the meaning of a signature changes, so old stores are never misread.
SIGNATURE_SCHEME = b"skipwise-signature-v1"

# Above this size, BLAKE3 hashes with all cores.
_PARALLEL_THRESHOLD = 1 << 20


def new() -> blake3.blake3:
    return blake3.blake3()


def digest_bytes(data: bytes | bytearray | memoryview) -> str:
    threads = blake3.blake3.AUTO if len(data) >= _PARALLEL_THRESHOLD else 1
    return blake3.blake3(data, max_threads=threads).hexdigest()


def digest_parts(parts: Iterable[str | bytes]) -> str:
    """Digest of a sequence of parts, each length-prefixed so that boundaries count."""
    h = blake3.blake3()
    for part in parts:
        raw = part.encode("utf-8", "surrogatepass") if isinstance(part, str) else part
        h.update(len(raw).to_bytes(8, "little"))
        h.update(raw)
    return h.hexdigest()
