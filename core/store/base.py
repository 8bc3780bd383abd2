"""The records every store keeps: manifests (the commit of a result), pointers, leftovers."""

from __future__ import annotations

import dataclasses
import getpass
import json
import os
import platform
import re
import socket
import typing
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from skipwise.errors import InvalidInstance, InvalidName, SkipwiseError, StoreError

# 2: the HMAC (with a key) covers every manifest; the checksum covers the codec too.
MANIFEST_FORMAT = 2
# A writer still busy after this long is taken to be dead; what it wrote becomes a leftover.
LEFTOVER_GRACE = timedelta(hours=1)
# A name segment, and an item of an entry (Manifest.data and .tree): one plain file or table
# name, never a path.
_NAME_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,199}")
# Names become nested folders and keys: bounded, so no path or recursion runs away.
MAX_NAME_SEGMENTS = 32
MAX_NAME_LENGTH = 1000
# An instance name becomes a folder, a key prefix and (part of) an unquoted SQL schema name:
# lowercase letters and digits in words joined by single "_" (so "__" can separate it from a
# view name on SQLite), starting with a letter, short enough for PostgreSQL's 63 characters
# with a stage appended.
_INSTANCE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
MAX_INSTANCE_LENGTH = 30
# Schemas and databases an instance must never take over.
_RESERVED_INSTANCES = frozenset({"skipwise", "public", "information_schema", "main", "temp"})
_RESERVED_PREFIXES = ("pg_", "sw_", "sqlite_")
# Pointers of a named instance are kept under this prefix, which no result name can start
# with: ``@mini/taxi.features``.
_INSTANCE_MARK = "@"


class CorruptEntry(SkipwiseError):
    """A stored entry failed verification; it is never served."""


class OutsideStore(StoreError):
    """An entry or pointer reached through a link (or a FIFO, a device): skipwise never reads
    through it, writes through it or removes it; a person has to look at it."""


def _shown(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else f"{text[:limit]}...")


def validate_name(name: str) -> str:
    """A result name: ``/``-separated segments of letters, digits, ``_``, ``.``, ``-``; at most
    ``MAX_NAME_SEGMENTS`` segments and ``MAX_NAME_LENGTH`` characters."""
    if not isinstance(name, str) or not name:
        raise InvalidName(f"result name must be a non-empty string, got {name!r}")
    segments = name.split("/")
    if len(segments) > MAX_NAME_SEGMENTS or len(name) > MAX_NAME_LENGTH:
        raise InvalidName(
            f"result name {_shown(name)} is too long ({len(segments)} segments, {len(name)} "
            f"characters): at most {MAX_NAME_SEGMENTS} segments and {MAX_NAME_LENGTH} characters"
        )
    for segment in segments:
        if segment in ("", ".", "..") or not _NAME_SEGMENT.fullmatch(segment):
            raise InvalidName(
                f"invalid result name {_shown(name)}: use letters, digits, '_', '.', '-' in "
                "'/'-separated segments, with no empty, '.' or '..' segment"
            )
    return name


def validate_instance(instance: str, where: str = "instance") -> str:
    """An instance name: lowercase letters, digits and single ``_`` between them, starting
    with a letter, at most ``MAX_INSTANCE_LENGTH`` characters, not a reserved schema name.
    ``where`` names the setting it came from in the error."""
    shown = _shown(instance) if isinstance(instance, str) else repr(instance)
    if (
        not isinstance(instance, str)
        or len(instance) > MAX_INSTANCE_LENGTH
        or not _INSTANCE.fullmatch(instance)
    ):
        raise InvalidInstance(
            f"invalid {where} {shown}: use lowercase letters, digits and single '_' between "
            f"them, starting with a letter, at most {MAX_INSTANCE_LENGTH} characters "
            "(it names folders and SQL schemas)"
        )
    if instance in _RESERVED_INSTANCES or instance.startswith(_RESERVED_PREFIXES):
        raise InvalidInstance(
            f"invalid {where} {shown}: reserved (it would name a database's own schema)"
        )
    return instance


def pointer_key(name: str, instance: str = "") -> str:
    """Where a name's pointer is kept: the name itself in the unnamed instance, else
    ``@<instance>/<name>``."""
    validate_name(name)
    return f"{_INSTANCE_MARK}{validate_instance(instance)}/{name}" if instance else name


def split_pointer_key(key: str) -> tuple[str, str]:
    """(instance, name) of a pointer key; InvalidName or InvalidInstance if it is not one."""
    if isinstance(key, str) and key.startswith(_INSTANCE_MARK):
        instance, _, name = key[len(_INSTANCE_MARK) :].partition("/")
        return validate_instance(instance), validate_name(name)
    return "", validate_name(key)


def validate_signature(signature: str) -> str:
    if not isinstance(signature, str) or not re.fullmatch(r"[0-9a-f]{64}", signature):
        shown = _shown(signature) if isinstance(signature, str) else repr(signature)
        raise SkipwiseError(f"not a skipwise signature: {shown}")
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
    checksum: str  # BLAKE3 of the codec's name and the encoded data's BLAKE3
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
        """A manifest as stored, every field of its type and every place in it a plain name
        inside its entry; CorruptEntry for anything else (whatever the bytes)."""
        try:
            manifest = cls(**json.loads(raw))
            if manifest.format == MANIFEST_FORMAT:
                manifest._check()
        except (ValueError, TypeError, RecursionError, SkipwiseError) as exc:
            raise CorruptEntry(f"unreadable manifest at {where}: {exc}") from None
        if manifest.format != MANIFEST_FORMAT:
            raise CorruptEntry(
                f"manifest at {where} has format {manifest.format!r}, not {MANIFEST_FORMAT} "
                "(written by another version of skipwise)"
            )
        return manifest

    def _check(self) -> None:
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            expected = typing.get_origin(_FIELD_TYPES[item.name]) or _FIELD_TYPES[item.name]
            if type(value) is not expected:
                raise TypeError(f"{item.name} is a {type(value).__name__}, not {expected.__name__}")
        validate_signature(self.signature)
        validate_name(self.name)
        if self.size < 0 or not re.fullmatch(r"[0-9a-f]{64}", self.checksum):
            raise ValueError("size or checksum out of range")
        if datetime.fromisoformat(self.created_at).tzinfo is None:
            raise ValueError(f"created_at {self.created_at!r} has no time zone")
        # The data and the tree are this entry's own: a plain name, never a path elsewhere.
        if not _NAME_SEGMENT.fullmatch(self.data) or (
            self.tree and not _NAME_SEGMENT.fullmatch(self.tree)
        ):
            raise ValueError(f"data {self.data!r} or tree {self.tree!r} is not a plain name")

    def producer_text(self) -> str:
        return producer_text(self.producer)


_FIELD_TYPES = typing.get_type_hints(Manifest)


def producer_text(producer: Mapping[str, Any]) -> str:
    """Who computed (or is computing) a result, in a few words: the host's context
    (DAG/task/run, asset/run) if any, else ``user@host``."""
    context = producer.get("context")
    if isinstance(context, dict) and context:
        return "/".join(str(v) for v in context.values())
    return f"{producer.get('user', '?')}@{producer.get('host', '?')}"


@dataclass(frozen=True)
class LeaseRecord:
    """Who is computing a signature, until when: the lease record a store keeps while a body
    runs. ``expires_at`` moves forward with each heartbeat; past it, the holder is taken to
    be dead and another caller may take the lease over."""

    token: str  # this holding of the lease: a renewal or release applies to it only
    holder: dict[str, Any]  # producer_info() of the holder
    acquired_at: str
    expires_at: str
    ttl: float

    @classmethod
    def new(cls, holder: Mapping[str, Any], ttl: float, token: str) -> LeaseRecord:
        now = datetime.now(UTC)
        stamp = now.isoformat(timespec="milliseconds")
        return cls(token, dict(holder), stamp, _later(now, ttl), ttl)

    def renewed(self) -> LeaseRecord:
        return replace(self, expires_at=_later(datetime.now(UTC), self.ttl))

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, raw: bytes | str) -> LeaseRecord | None:
        """The record as stored, or None if it cannot be read (a torn write: expired)."""
        try:
            record = cls(**json.loads(raw))
            datetime.fromisoformat(record.expires_at)
        except (ValueError, TypeError, RecursionError):
            return None
        return record

    def expired(self) -> bool:
        expires = datetime.fromisoformat(self.expires_at)
        return expires.tzinfo is None or expires <= datetime.now(UTC)

    def holder_text(self) -> str:
        """The holder for messages: who, and which process."""
        return f"{producer_text(self.holder)} (pid {self.holder.get('pid', '?')})"


def _later(now: datetime, seconds: float) -> str:
    return (now + timedelta(seconds=seconds)).isoformat(timespec="milliseconds")


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


# Where a script of a lazy step writes (see Query.script): the table skipwise names for it.
TARGET = "{target}"


@dataclass(frozen=True)
class Query:
    """A lazy step's SQL, compiled for the store's database, as the store runs it: a SELECT
    whose rows become the result's table, or a script of statements that fill ``TARGET``.
    ``what`` names the step in messages."""

    what: str
    select: str | None = None
    script: tuple[str, ...] = ()


@dataclass(frozen=True)
class Pointer:
    """The latest signature stored under a name in one instance ("": the unnamed one), and
    the ones before it (newest first)."""

    name: str
    signature: str
    updated_at: str
    history: tuple[str, ...] = ()
    instance: str = ""

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
            instance=data.get("instance", ""),
        )

    @property
    def key(self) -> str:
        return pointer_key(self.name, self.instance)

    def advanced(self, signature: str, keep: int = 50) -> Pointer:
        history = (signature, *(s for s in (self.signature, *self.history) if s != signature))
        return replace(
            self, signature=signature, updated_at=utc_now(), history=history[1 : keep + 1]
        )


@dataclass(frozen=True)
class Leftover:
    """Something a crashed or losing writer left behind; invisible to readers."""

    path: str
    size: int
    modified_at: datetime


@dataclass(frozen=True)
class Refused:
    """Something in a store that skipwise never follows, reads through or removes (a link, a
    FIFO): listings leave it out, gc reports it, a person decides."""

    path: str
    why: str
