"""What every store keeps: results by signature, each committed by a manifest written last."""

from __future__ import annotations

import functools
import getpass
import inspect
import json
import os
import platform
import re
import socket
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

from skipwise.errors import InvalidName, SkipwiseError, StoreError
from skipwise.store import signing

MANIFEST_FORMAT = 1
# A writer still busy after this long is taken to be dead; what it wrote becomes a leftover.
LEFTOVER_GRACE = timedelta(hours=1)
_NAME_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,199}")


class CorruptEntry(SkipwiseError):
    """A stored entry failed verification; it is never served."""


def validate_name(name: str) -> str:
    """A result name: ``/``-separated segments of letters, digits, ``_``, ``.``, ``-``."""
    if not isinstance(name, str) or not name:
        raise InvalidName(f"result name must be a non-empty string, got {name!r}")
    segments = name.split("/")
    for segment in segments:
        if segment in ("", ".", "..") or not _NAME_SEGMENT.fullmatch(segment):
            raise InvalidName(
                f"invalid result name {name!r}: use letters, digits, '_', '.', '-' in "
                "'/'-separated segments, with no empty, '.' or '..' segment"
            )
    return name


def validate_signature(signature: str) -> str:
    if not isinstance(signature, str) or not re.fullmatch(r"[0-9a-f]{64}", signature):
        raise SkipwiseError(f"not a skipwise signature: {signature!r}")
    return signature


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def producer_info(context: Mapping[str, str] | None = None) -> dict[str, Any]:
    from skipwise import __version__

    try:
        user = getpass.getuser()
    except Exception:
        user = "unknown"
    return {
        "host": socket.gethostname(),
        "user": user,
        "pid": os.getpid(),
        "python": platform.python_version(),
        "skipwise": __version__,
        **({"context": dict(context)} if context else {}),
    }


@dataclass(frozen=True)
class Manifest:
    """The commit record of one stored result."""

    signature: str
    name: str
    codec: str
    data: str  # where the data is, relative to the entry (a file name, a table name)
    checksum: str  # BLAKE3 of the encoded data
    size: int
    created_at: str
    producer: dict[str, Any] = field(default_factory=dict)
    tree: str = ""  # where the signature tree is, relative to the entry
    extra: dict[str, Any] = field(default_factory=dict)
    format: int = MANIFEST_FORMAT

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, raw: bytes | str, where: str) -> Manifest:
        try:
            data = json.loads(raw)
            manifest = cls(**data)
        except (ValueError, TypeError) as exc:
            raise CorruptEntry(f"unreadable manifest at {where}: {exc}") from exc
        if manifest.format != MANIFEST_FORMAT:
            raise CorruptEntry(f"manifest at {where} has format {manifest.format}")
        return manifest

    def producer_text(self) -> str:
        context = self.producer.get("context") or {}
        if context:
            return "/".join(str(v) for v in context.values())
        return f"{self.producer.get('user', '?')}@{self.producer.get('host', '?')}"


def draft_manifest(
    signature: str,
    *,
    name: str,
    codec: str,
    producer: Mapping[str, Any],
    data: str,
    tree: str,
    payload: bytes | None = None,
    checksum: str = "",
    size: int = 0,
) -> Manifest:
    """The manifest of an entry about to be written, checksummed from ``payload`` or given
    its ``checksum`` and ``size`` (when the data was streamed)."""
    from skipwise import hashing

    validate_signature(signature)
    if payload is not None:
        checksum, size = hashing.digest_bytes(payload), len(payload)
    return Manifest(
        signature=signature,
        name=validate_name(name),
        codec=codec,
        data=data,
        checksum=checksum,
        size=size,
        created_at=utc_now(),
        producer=dict(producer),
        tree=tree,
    )


def unsaved_manifest(
    signature: str, name: str, codec: str, producer: Mapping[str, Any]
) -> Manifest:
    """The record of a result that was computed but not written (read-only or unreachable
    store): callers get the same shape of answer whether or not the store took the value."""
    return Manifest(
        signature=signature,
        name=name,
        codec=codec,
        data="",
        checksum="",
        size=0,
        created_at=utc_now(),
        producer=dict(producer),
        extra={"stored": False},
    )


@dataclass(frozen=True)
class Pointer:
    """The latest signature stored under a name, and the ones before it (newest first)."""

    name: str
    signature: str
    updated_at: str
    history: tuple[str, ...] = ()

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes | str) -> Pointer:
        data = json.loads(raw)
        return cls(
            name=data["name"],
            signature=data["signature"],
            updated_at=data["updated_at"],
            history=tuple(data.get("history", ())),
        )

    def advanced(self, signature: str, keep: int = 50) -> Pointer:
        history = (signature, *(s for s in (self.signature, *self.history) if s != signature))
        return Pointer(self.name, signature, utc_now(), history[1 : keep + 1])


@dataclass(frozen=True)
class Leftover:
    """Something a crashed or losing writer left behind; invisible to readers."""

    path: str
    size: int
    modified_at: datetime


_F = TypeVar("_F", bound=Callable[..., Any])


def store_operation(method: _F) -> _F:
    """Mark a public store method: the store's one-time check runs first, and transport
    failures (server down, access denied) become a StoreError naming the store, which is
    what users read and what the ``on_store_error`` policy acts on."""
    if inspect.isgeneratorfunction(method):

        @functools.wraps(method)
        def iterate(self: Store, *args: Any, **kwargs: Any) -> Iterator[Any]:
            try:
                self._ensure_checked()
                yield from method(self, *args, **kwargs)
            except Exception as exc:
                error = self._translated(exc)
                if error is exc:
                    raise
                raise error from exc

        return cast(_F, iterate)

    @functools.wraps(method)
    def call(self: Store, *args: Any, **kwargs: Any) -> Any:
        # A plain try (no context manager): this wraps the cache-hit path.
        try:
            self._ensure_checked()
            return method(self, *args, **kwargs)
        except Exception as exc:
            error = self._translated(exc)
            if error is exc:
                raise
            raise error from exc

    return cast(_F, call)


class Store(ABC):
    """Results by signature. Implementations: local/S3/memory (fsspec) and SQL.

    ``read_only`` stores serve hits and refuse writes. ``signing_key`` signs and verifies
    the manifests of pickled results (required for pickles on ``shared`` stores).
    """

    url: str
    read_only: bool = False
    signing_key: bytes | None = None
    _checked: bool = False

    @property
    def shared(self) -> bool:
        """Whether other machines may write here: pickles must then be signed."""
        return True

    def _check(self) -> None:
        """Fail early and clearly if the store cannot be used (missing bucket, bad login)."""
        return None

    def _transport_error(self, exc: Exception) -> str | None:
        """What went wrong talking to the store, or None if ``exc`` is not about that."""
        if isinstance(exc, OSError):
            return f"{type(exc).__name__}: {exc}"
        return None

    def _ensure_checked(self) -> None:
        if not self._checked:
            self._check()
            self._checked = True

    def _translated(self, exc: Exception) -> Exception:
        """``exc`` as the error to raise: transport failures become a StoreError."""
        if isinstance(exc, SkipwiseError):
            return exc
        cause = self._transport_error(exc)
        return exc if cause is None else StoreError(f"store {self.url}: {cause}")

    def _writable(self) -> None:
        if self.read_only:
            raise StoreError(f"store {self.url} is read-only")

    def _seal(self, manifest: Manifest) -> Manifest:
        """The manifest to commit: signed if it holds a pickle (refused unsigned if shared)."""
        if manifest.codec != "pickle":
            return manifest
        if self.signing_key:
            return signing.seal(manifest, self.signing_key)
        if self.shared:
            raise StoreError(
                f"store {self.url} is shared: pickled results must be signed; set "
                "SKIPWISE_SIGNING_KEY or configure(signing_key=...)"
            )
        return manifest

    def _verify(self, manifest: Manifest) -> None:
        """Refuse a pickled entry that is unsigned or mis-signed before anything decodes it."""
        if manifest.codec != "pickle":
            return
        if self.signing_key:
            signing.verify(manifest, self.signing_key, self.url)
        elif self.shared:
            raise CorruptEntry(
                f"pickled entry {manifest.signature} in shared store {self.url} cannot be "
                "verified: no signing key is configured (SKIPWISE_SIGNING_KEY)"
            )

    @abstractmethod
    def exists_many(self, signatures: Iterable[str]) -> set[str]:
        """The subset of ``signatures`` that have a committed manifest (batched where possible)."""

    def exists(self, signature: str) -> bool:
        return signature in self.exists_many([signature])

    @abstractmethod
    def manifest(self, signature: str) -> Manifest | None:
        """The committed manifest, or None. Raises CorruptEntry if it cannot be read."""

    @abstractmethod
    def load(self, manifest: Manifest) -> Any:
        """The verified value; raises CorruptEntry on any mismatch."""

    @abstractmethod
    def save(
        self,
        signature: str,
        value: Any,
        *,
        codec: str,
        name: str,
        tree: Mapping[str, Any],
        producer: Mapping[str, Any],
        replace: bool = False,
    ) -> Manifest:
        """Write data, then the tree, then commit the manifest. If another writer committed
        first (and not ``replace``), keep theirs and return it."""

    @abstractmethod
    def tree(self, manifest: Manifest) -> dict[str, Any] | None:
        """The signature tree stored with a result."""

    @abstractmethod
    def manifests(self) -> Iterator[Manifest]:
        """Every committed manifest."""

    @abstractmethod
    def delete(self, signature: str) -> None:
        """Remove an entry: the manifest first, so no reader sees a half-deleted entry."""

    @abstractmethod
    def pointer(self, name: str) -> Pointer | None: ...

    @abstractmethod
    def set_pointer(self, name: str, signature: str) -> Pointer: ...

    @abstractmethod
    def pointers(self) -> Iterator[Pointer]: ...

    @abstractmethod
    def leftovers(self, older_than: timedelta = LEFTOVER_GRACE) -> Iterator[Leftover]:
        """Uncommitted data of crashed or losing writers, untouched for ``older_than``
        (younger files may belong to a writer that is still busy)."""

    @abstractmethod
    def remove_leftover(self, leftover: Leftover) -> None: ...
