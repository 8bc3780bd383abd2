"""The store protocol: the rules every store follows, written once over a backend's primitives.

Writing a result: its data, then its signature tree, then its manifest, committed last and only
if no other writer committed that signature first (the loser's session is undone and the
winner's entry returned). Reading: a manifest counts only if it is for the signature asked
about, a pickled entry only with a valid HMAC where one is required, and data only if it
matches the manifest's checksum, all checked before anything decodes it. Listings skip and log
what fails these checks. A name's pointer moves by compare-and-set, tried again when another
writer moved it first, so no signature drops out of its history.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn, TypedDict, TypeVar, cast

from skipwise.errors import SkipwiseError, StoreError
from skipwise.store import signing
from skipwise.store.base import (
    LEFTOVER_GRACE,
    CorruptEntry,
    Leftover,
    Manifest,
    Pointer,
    draft_manifest,
    utc_now,
    validate_name,
    validate_signature,
)
from skipwise.store.codecs import get_codec
from skipwise.store.primitives import Backend, Raw, W

log = logging.getLogger("skipwise.store")

# A pointer that keeps moving under a writer: give up after this many compare-and-sets.
POINTER_ATTEMPTS = 20

_F = TypeVar("_F", bound=Callable[..., Any])


class _Lost(Exception):
    """Another writer committed the entry first: undo this writer's session."""


def store_operation(method: _F) -> _F:
    """Mark a public store method: the store's one-time check runs first, and transport
    failures (server down, access denied) become a StoreError naming the store, which is
    what users read and what the ``on_store_error`` policy acts on."""
    if inspect.isgeneratorfunction(method):

        @functools.wraps(method)
        def iterate(self: Store[Any], *args: Any, **kwargs: Any) -> Iterator[Any]:
            try:
                self._ensure_checked()
                yield from method(self, *args, **kwargs)
            except Exception as exc:
                self._raise_translated(exc)

        return cast(_F, iterate)

    @functools.wraps(method)
    def call(self: Store[Any], *args: Any, **kwargs: Any) -> Any:
        # A plain try (no context manager): this wraps the cache-hit path.
        try:
            self._ensure_checked()
            return method(self, *args, **kwargs)
        except Exception as exc:
            self._raise_translated(exc)

    return cast(_F, call)


def _pointer_or_none(raw: Raw | None) -> Pointer | None:
    """A stored pointer, or None if there is none or it is torn (the next write replaces it)."""
    if raw is None:
        return None
    try:
        return Pointer.from_json(raw)
    except (ValueError, KeyError, TypeError):
        return None


class Settings(TypedDict, total=False):
    """What every store is opened with, whatever its backend."""

    read_only: bool
    signing_key: bytes | None


class Store(Backend[W]):
    """Results by signature. Backends: local/S3/memory (fsspec) and SQL.

    ``read_only`` stores serve hits and refuse writes. ``signing_key`` signs and verifies
    the manifests of pickled results (required for pickles on ``shared`` stores).
    """

    _checked: bool = False

    def __init__(self, url: str, *, read_only: bool = False, signing_key: bytes | None = None):
        self.url = url
        self.read_only = read_only
        self.signing_key = signing_key

    def _ensure_checked(self) -> None:
        if not self._checked:
            self._check()
            self._checked = True

    def _raise_translated(self, exc: Exception) -> NoReturn:
        """Raise ``exc``, or the StoreError it means if it is a transport failure."""
        cause = None if isinstance(exc, SkipwiseError) else self._transport_error(exc)
        if cause is None:
            raise exc
        raise StoreError(f"store {self.url}: {cause}") from exc

    def _writable(self) -> None:
        if self.read_only:
            raise StoreError(f"store {self.url} is read-only")

    def _signs(self, codec: str) -> bool:
        """Whether a manifest of ``codec`` gets an HMAC; refuses, before anything is written, a
        pickle that a shared store could not verify."""
        if codec != "pickle":
            return False
        if self.signing_key:
            return True
        if self.shared:
            raise StoreError(
                f"store {self.url} is shared: pickled results must be signed; set "
                "SKIPWISE_SIGNING_KEY or configure(signing_key=...)"
            )
        return False

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

    def _parsed(self, signature: str, raw: Raw) -> Manifest:
        """The manifest stored for ``signature``; CorruptEntry if unreadable or another's."""
        where = self._where(signature)
        manifest = Manifest.from_json(raw, where)
        if manifest.signature != signature:
            raise CorruptEntry(f"manifest at {where} is for {manifest.signature}")
        return manifest

    def _committed(self, signature: str, session: W | None = None) -> Manifest | None:
        validate_signature(signature)
        raw = self._read_manifest(signature, session)
        return None if raw is None else self._parsed(signature, raw)

    def _committed_or_none(self, signature: str, session: W | None = None) -> Manifest | None:
        """The committed entry; an unreadable one counts as absent (it is to be replaced)."""
        try:
            return self._committed(signature, session)
        except CorruptEntry:
            return None

    def _remove(self, session: W, signature: str) -> None:
        """Remove an entry in ``session``: the manifest first, so no reader sees half an entry.
        Without a manifest the data may be a busy writer's, unless sessions are transactions."""
        manifest = self._committed_or_none(signature, session)
        if self._delete_manifest(session, signature) or self.transactional:
            self._delete_data(session, signature, manifest)

    # --- reading ----------------------------------------------------------------------

    @store_operation
    def exists_many(self, signatures: Iterable[str]) -> set[str]:
        """The subset of ``signatures`` that have a committed manifest (batched where possible)."""
        wanted = {validate_signature(s) for s in signatures}
        return self._find_committed(wanted) if wanted else set()

    def exists(self, signature: str) -> bool:
        return signature in self.exists_many([signature])

    @store_operation
    def manifest(self, signature: str) -> Manifest | None:
        """The committed manifest, or None. Raises CorruptEntry if it cannot be read."""
        return self._committed(signature)

    @store_operation
    def load(self, manifest: Manifest) -> Any:
        """The verified value; raises CorruptEntry on any mismatch."""
        self._verify(manifest)
        codec = get_codec(manifest.codec)
        fetched = self._read_data(manifest, codec)
        where = self._where(manifest.signature, manifest.data)
        if fetched is None:
            raise CorruptEntry(f"data of {manifest.signature} is missing at {where}")
        if (fetched.checksum, fetched.size) != (manifest.checksum, manifest.size):
            raise CorruptEntry(f"data of {manifest.signature} at {where} fails its checksum")
        return fetched.decode()

    @store_operation
    def tree(self, manifest: Manifest) -> dict[str, Any] | None:
        """The signature tree stored with a result."""
        if not manifest.tree:
            return None
        raw = self._read_tree(manifest)
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return None

    @store_operation
    def manifests(self) -> Iterator[Manifest]:
        """Every committed manifest that can be read; the others are logged and skipped."""
        for signature, raw in self._list_manifests():
            try:
                yield self._parsed(signature, raw)
            except SkipwiseError as exc:
                log.warning("store %s: skipped entry %s: %s", self.url, signature, exc)

    @store_operation
    def pointer(self, name: str) -> Pointer | None:
        return _pointer_or_none(self._read_pointer(validate_name(name)))

    @store_operation
    def pointers(self) -> Iterator[Pointer]:
        """Every readable pointer; torn ones are logged and skipped."""
        for name, raw in self._list_pointers():
            pointer = _pointer_or_none(raw)
            if pointer is None:
                log.warning("store %s: skipped unreadable pointer %s", self.url, name)
                continue
            yield pointer

    @store_operation
    def leftovers(self, older_than: timedelta = LEFTOVER_GRACE) -> Iterator[Leftover]:
        """Uncommitted data of crashed or losing writers, untouched for ``older_than``
        (younger data may belong to a writer that is still busy, except in transactions)."""
        cutoff = datetime.now(UTC) - older_than
        for leftover in self._list_leftovers():
            if self.transactional or leftover.modified_at <= cutoff:
                yield leftover

    # --- writing ----------------------------------------------------------------------

    @store_operation
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
        self._writable()
        chosen = get_codec(codec)
        draft = draft_manifest(signature, name=name, codec=chosen.name, producer=producer)
        signs = self._signs(chosen.name)
        try:
            with self._writing(signature) as session:
                # First writer wins: a committed entry stays (a damaged one raises CorruptEntry:
                # taking its place needs ``replace``).
                existing = None if replace else self._committed(signature, session)
                if existing is not None:
                    return existing
                manifest = self._put_data(session, draft, chosen, value)
                if signs:
                    manifest = signing.seal(manifest, cast(bytes, self.signing_key))
                self._put_tree(session, manifest, json.dumps(tree))
                if not self._commit(session, manifest, replace):
                    raise _Lost
                return manifest
        except _Lost:
            pass
        # Another writer committed the same signature meanwhile: theirs is the entry.
        existing = self._committed(signature)
        if existing is None:
            raise StoreError(f"{self.url}: entry {signature} vanished while committing")
        return existing

    @store_operation
    def delete(self, signature: str) -> None:
        """Remove an entry: the manifest first, so no reader sees a half-deleted entry."""
        self._writable()
        validate_signature(signature)
        with self._writing(signature) as session:
            self._remove(session, signature)

    @store_operation
    def set_pointer(self, name: str, signature: str) -> Pointer:
        """Point ``name`` at ``signature``, keeping the signatures before it as history."""
        self._writable()
        validate_name(name)
        validate_signature(signature)
        for _ in range(POINTER_ATTEMPTS):
            with self._writing(f"name:{name}") as session:
                stored = self._read_pointer(name, session)
                current = _pointer_or_none(stored)
                pointer = (
                    current.advanced(signature)
                    if current
                    else Pointer(name=name, signature=signature, updated_at=utc_now())
                )
                if self._swap_pointer(session, name, stored, pointer):
                    return pointer
        raise StoreError(
            f"store {self.url}: pointer {name!r} kept changing under this writer; "
            f"gave up after {POINTER_ATTEMPTS} attempts"
        )

    @store_operation
    def remove_leftover(self, leftover: Leftover) -> None:
        self._writable()
        self._remove_leftover(leftover)
