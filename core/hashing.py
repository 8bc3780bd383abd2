"""The one hash function skipwise uses: BLAKE3, 256 bits, hex encoded, and the one framing of
everything that goes into a signature.

BLAKE3 is cryptographic (signatures are keys into shared stores) and fast enough to checksum
multi-gigabyte Parquet files on the read path.

Framing: a digest that goes into a signature starts with its kind, then its fields, each a
tag, the payload's length and the payload, so neither a field's type nor where it ends can be
mistaken (``b"1"``, ``"1"`` and ``1`` differ; ``("ab", "c")`` is not ``("a", "bc")``). Only
this module frames digests (a test checks), so the framing changes in one place, together with
``SIGNATURE_SCHEME``. Checksums of stored data (:func:`digest_bytes`, :func:`file_digest`,
:class:`HashingWriter`) and store names (:func:`digest_parts`) are not signatures: their
output must never change, or existing stores would no longer verify or be found.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any, BinaryIO

import blake3

# Bump when the meaning of a signature changes, so old stores are never misread. v2: every
# digest is framed here (docs/signatures.md, Changelog).
SIGNATURE_SCHEME = b"skipwise-signature-v2"

# A typed part: its type is framed with it.
Part = str | bytes | int | Mapping[str, "Part"]

# Above this size, BLAKE3 hashes with all cores.
_PARALLEL_THRESHOLD = 1 << 20


def digest_bytes(data: bytes | bytearray | memoryview | Any) -> str:
    """BLAKE3 of any buffer (bytes, memoryview, a memory-mapped Arrow buffer)."""
    view = memoryview(data)
    threads = blake3.blake3.AUTO if view.nbytes >= _PARALLEL_THRESHOLD else 1
    return blake3.blake3(view, max_threads=threads).hexdigest()


def digest_parts(parts: Iterable[str | bytes]) -> str:
    """Digest of a sequence of parts, each length-prefixed so that boundaries count: names and
    locks in stores only (frozen, as existing stores depend on it); signatures use
    :func:`digest_fields`."""
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


# --- signature framing -------------------------------------------------------------------

# A payload's length as LEB128 (7 bits a byte, the high bit on all but the last): one byte for
# the short parts that make up most of a signature, so framing adds little to what is hashed.
_SHORT = [bytes((n,)) for n in range(128)]


def _length(n: int) -> bytes:
    if n < 128:
        return _SHORT[n]
    if n < 16384:
        return bytes((n & 127 | 128, n >> 7))
    out = bytearray()
    while n >= 128:
        out.append(n & 127 | 128)
        n >>= 7
    out.append(n)
    return bytes(out)


def _header(tag: bytes) -> bytes:
    """A tag framed by its length (a tag is at most 127 bytes)."""
    return _SHORT[len(tag)] + tag


_STR, _BYTES, _INT, _MAP = _header(b"s"), _header(b"b"), _header(b"i"), _header(b"m")
# The same framing written as text, for short ASCII text (see encode).
_TEXT, _TEXT_MAP = _STR.decode(), _MAP.decode()
_TEXT_LENGTHS = [length.decode("latin-1") for length in _SHORT]


@functools.lru_cache(maxsize=256)  # kinds are few: one per place that frames
def _kind(kind: str) -> bytes:
    raw = kind.encode("utf-8", "surrogatepass")
    return _header(b"kind") + _length(len(raw)) + raw


def encode(*parts: Part) -> bytes:
    """Parts framed with their type and length. An encoding is self-delimiting when its number
    of parts is known (or framed), so such encodings can be concatenated and hashed later.
    A mapping is its size, then its items sorted by key."""
    # Most of what signatures hash (keys, digests, a graph's references) is short ASCII text,
    # whose framing written as text and encoded once is the same bytes as part by part.
    text: list[str] = []
    try:
        for part in parts:
            if type(part) is str:
                text += (_TEXT, _TEXT_LENGTHS[len(part)], part)
            elif type(part) is dict:
                text += (_TEXT_MAP, _TEXT_LENGTHS[len(part)])
                for key in sorted(part):
                    value = part[key]
                    text += (_TEXT, _TEXT_LENGTHS[len(key)], key)
                    text += (_TEXT, _TEXT_LENGTHS[len(value)], value)
            else:
                return _framed(parts)
        joined = "".join(text)  # raises unless every piece is text
    except (TypeError, IndexError):  # not text, or not short
        return _framed(parts)
    return joined.encode("ascii") if joined.isascii() else _framed(parts)


def _framed(parts: tuple[Part, ...]) -> bytes:
    """:func:`encode`, part by part (as quick for a few parts)."""
    out: list[bytes] = []
    for part in parts:
        t = type(part)
        if t is str:
            header, raw = _STR, part.encode("utf-8", "surrogatepass")
        elif t is bytes:
            header, raw = _BYTES, part
        elif t is int:
            header, raw = _INT, b"%d" % part
        elif t is dict:
            items = tuple(p for key in sorted(part) for p in (key, part[key]))
            out += (_MAP, _length(len(part)), _framed(items))
            continue
        else:
            out.append(_framed((_plain(part),)))
            continue
        n = len(raw)
        out += (header, _SHORT[n] if n < 128 else _length(n), raw)
    return b"".join(out)


def _plain(part: object) -> Part:
    """What a subclass (a str enum, a multi-partition key) or another mapping frames as; bool
    is no int here."""
    if isinstance(part, str):
        return str.__str__(part)
    if isinstance(part, bytes):
        return bytes(part)
    if isinstance(part, int) and not isinstance(part, bool):
        return int(part)
    if isinstance(part, Mapping):
        return dict(part)
    raise TypeError(f"a digest part is str, bytes, int or a mapping, got {part!r}")


def digest_fields(kind: str, *parts: Part) -> str:
    """Digest of typed parts under a kind (``"function"``, ``"signature"``); one kind, one
    layout of parts."""
    return blake3.blake3(_kind(kind) + _framed(parts)).hexdigest()


def digest_encoded(kind: str, encoded: bytes) -> str:
    """Digest of parts framed by :func:`encode` beforehand (a graph's node records, each
    encoded once and hashed in every graph that holds the node)."""
    return blake3.blake3(_kind(kind) + encoded).hexdigest()


class Framer:
    """A digest built field by field under a kind, for values hashed as they are walked (a
    large array goes in without a copy). Fields carry the caller's tags (a value's type)."""

    __slots__ = ("_update", "hexdigest")

    def __init__(self, kind: str) -> None:
        hasher = blake3.blake3(_kind(kind))
        self._update = hasher.update
        self.hexdigest: Callable[[], str] = hasher.hexdigest

    def field(self, tag: bytes, payload: str | bytes) -> None:
        raw = payload.encode("utf-8", "surrogatepass") if isinstance(payload, str) else payload
        n = len(raw)
        self._update(b"".join((_SHORT[len(tag)], tag, _SHORT[n] if n < 128 else _length(n), raw)))

    def buffer(self, tag: bytes, data: Any) -> None:
        """A field whose payload is any contiguous buffer, hashed in place."""
        view = memoryview(data)
        self._update(_header(tag) + _length(view.nbytes))
        self._update(view)
