"""What every store keeps: results by signature, each committed by a manifest written last."""

from __future__ import annotations

import getpass
import json
import os
import platform
import re
import socket
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from skipwise.errors import InvalidName, SkipwiseError

MANIFEST_FORMAT = 1
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


class Store(ABC):
    """Results by signature. Implementations: local/S3/memory (fsspec) and SQL."""

    url: str

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
    def leftovers(self) -> Iterator[Leftover]:
        """Uncommitted data of crashed or losing writers."""

    @abstractmethod
    def remove_leftover(self, leftover: Leftover) -> None: ...
