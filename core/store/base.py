"""The records every store keeps: manifests (the commit of a result), pointers, leftovers."""

from __future__ import annotations

import getpass
import json
import os
import platform
import re
import socket
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from skipwise.errors import InvalidName, SkipwiseError

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


def draft_manifest(
    signature: str, *, name: str, codec: str, producer: Mapping[str, Any]
) -> Manifest:
    """The manifest of an entry about to be written: the backend that writes the data fills in
    where it put the data and the tree, and the data's checksum and size."""
    validate_signature(signature)
    return replace(unsaved_manifest(signature, validate_name(name), codec, producer), extra={})


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
