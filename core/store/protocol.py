"""The store protocol: the rules every store follows, written once over a backend's primitives.

Writing a result: its data, then its signature tree, then its manifest, committed last and only
if no other writer committed that signature first (the loser's session is undone and the
winner's entry returned). Reading: a manifest counts only if it is well formed, for the
signature asked about, names data inside its own entry and, where the store has a key, carries
a valid HMAC; data only if it matches the manifest's checksum (which covers the codec), all
checked before anything decodes it. Whatever fails is a CorruptEntry, never another error.
Listings skip and log what fails these checks; links and special files are never followed
(``refused`` reports them). A name's pointer moves by compare-and-set, tried again when
another writer moved it first, so no signature drops out of its history.

Computing once: a caller about to compute a signature takes its lease (``Store.lease``), a
record of who computes it until when, created or taken over by compare-and-set. Others wait
(or compute anyway, or fail: the policy) until it is released or expires; the holder's
heartbeat renews it while the body runs, so only a dead or stalled holder loses it.

A passing failure (SQLite busy, a connection the server dropped) is tried again with backoff
before it becomes a ``StoreError``.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn, TypedDict, TypeVar, cast

import tenacity

from skipwise import hashing
from skipwise.errors import CodecError, LeaseHeld, SkipwiseError, StoreError, redact
from skipwise.store import signing
from skipwise.store.base import (
    LEFTOVER_GRACE,
    CorruptEntry,
    LeaseRecord,
    Leftover,
    Manifest,
    Pointer,
    Query,
    Refused,
    draft_manifest,
    pointer_key,
    split_pointer_key,
    utc_now,
    validate_signature,
)
from skipwise.store.codecs import Codec, get_codec
from skipwise.store.primitives import Backend, Fetched, Raw, W

log = logging.getLogger("skipwise.store")

# A pointer that keeps moving under a writer: give up after this many compare-and-sets.
POINTER_ATTEMPTS = 20
# A passing failure is tried again this many times in all, within this many seconds.
TRANSIENT_ATTEMPTS = 8
TRANSIENT_SECONDS = 30
# How long a lease lasts without a heartbeat (seconds); its holder renews it every third.
LEASE_TTL = 60.0
# What a caller does while another holds the lease: wait for its result, compute anyway, fail.
LEASE_POLICIES = ("wait", "compute", "fail")
# A waiter polls at most this often (seconds, and at most a quarter of the TTL), and says
# that it is still waiting this often.
LEASE_POLL = 1.0
WAIT_REPORT = 30.0

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
            if not self._transient(exc):
                self._raise_translated(exc)
        try:
            return _retrying(self)(_checked_call, self, method, args, kwargs)
        except Exception as exc:
            self._raise_translated(exc)

    return cast(_F, call)


def _checked_call(store: Store[Any], method: Callable[..., Any], args: Any, kwargs: Any) -> Any:
    store._ensure_checked()
    return method(store, *args, **kwargs)


def _retrying(store: Store[Any]) -> tenacity.Retrying:
    """Again, with random exponential backoff, while the failure is a passing one (the
    operation is a whole write session or read: a failed try left nothing behind)."""
    return tenacity.Retrying(
        retry=tenacity.retry_if_exception(store._transient),
        stop=tenacity.stop_after_attempt(TRANSIENT_ATTEMPTS - 1)
        | tenacity.stop_after_delay(TRANSIENT_SECONDS),
        wait=tenacity.wait_random_exponential(multiplier=0.05, max=2),
        reraise=True,
    )


def content_checksum(codec: str, data_checksum: str) -> str:
    """A manifest's checksum: of the data's checksum and the codec that reads it, so that an
    entry whose codec was changed fails its checksum like one whose data was."""
    return hashing.digest_parts(["skipwise-content", codec, data_checksum])


def _placed(pointer: Pointer | None, instance: str, name: str) -> Pointer | None:
    """A pointer named by where it is kept, whatever its JSON says."""
    if pointer is None:
        return None
    return dataclasses.replace(pointer, name=name, instance=instance)


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
    signing_key: str | bytes | None


class Store(Backend[W]):
    """Results by signature. Backends: local/S3/memory (fsspec) and SQL.

    ``read_only`` stores serve hits and refuse writes. ``signing_key`` signs every manifest
    and refuses those without a valid HMAC (required for pickles on ``shared`` stores).
    ``url`` is shown to users: its password, if any, is masked.
    """

    _checked: bool = False

    def __init__(
        self, url: str, *, read_only: bool = False, signing_key: str | bytes | None = None
    ):
        self.url = redact(url)
        self.read_only = read_only
        self.signing_key = signing.key_from(signing_key)

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

    def _unverifiable(self, codec: str) -> bool:
        """A pickle where anyone else may write and no key tells who wrote it."""
        return codec == "pickle" and self.shared and not self.signing_key

    def _refuse_unsigned_pickle(self, codec: str) -> None:
        """Refuse, before anything is written, a pickle that a shared store could not verify."""
        if self._unverifiable(codec):
            raise StoreError(
                f"store {self.url} is shared: pickled results must be signed; set "
                "SKIPWISE_SIGNING_KEY or configure(signing_key=...)"
            )

    def _parsed(self, signature: str, raw: Raw) -> Manifest:
        """The manifest stored for ``signature``; CorruptEntry if unreadable, another entry's,
        naming data that is not its own, or (with a key) not validly signed."""
        where = self._where(signature)
        manifest = Manifest.from_json(raw, where)
        if manifest.signature != signature:
            raise CorruptEntry(f"manifest at {where} is for {manifest.signature}")
        if not self._owns(manifest):
            raise CorruptEntry(f"manifest at {where} names data of another entry: {manifest.data}")
        if self.signing_key:
            signing.verify(manifest, self.signing_key, self.url)
        return manifest

    def _codec(self, manifest: Manifest) -> Codec:
        """The codec an entry was written with, before anything is read: a pickle only where
        it can be trusted, an unknown codec (a teammate's custom one) as a damaged entry."""
        if self._unverifiable(manifest.codec):
            raise CorruptEntry(
                f"pickled entry {manifest.signature} in shared store {self.url} cannot be "
                "verified: no signing key is configured (SKIPWISE_SIGNING_KEY)"
            )
        try:
            return get_codec(manifest.codec)
        except CodecError as exc:
            raise CorruptEntry(
                f"entry {manifest.signature} was written with a codec this process does not "
                f"know ({exc}): register it with skipwise.register_codec to read it"
            ) from None

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
        codec, fetched = self._checked_data(manifest)
        where = self._where(manifest.signature, manifest.data)
        try:
            return fetched.decode()
        except Exception as exc:  # data that passed its checksum, yet not this codec's
            raise CorruptEntry(
                f"data of {manifest.signature} at {where} cannot be read as {codec.name}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc

    @store_operation
    def verify(self, manifest: Manifest) -> None:
        """Raise CorruptEntry unless the entry's data is there and matches its checksum;
        nothing is decoded (``skipwise gc --verify``)."""
        self._checked_data(manifest)

    def _checked_data(self, manifest: Manifest) -> tuple[Codec, Fetched]:
        codec = self._codec(manifest)
        fetched = self._read_data(manifest, codec)
        where = self._where(manifest.signature, manifest.data)
        if fetched is None:
            raise CorruptEntry(f"data of {manifest.signature} is missing at {where}")
        checked = (content_checksum(codec.name, fetched.checksum), fetched.size)
        if checked != (manifest.checksum, manifest.size):
            raise CorruptEntry(f"data of {manifest.signature} at {where} fails its checksum")
        return codec, fetched

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
    def refused(self) -> Iterator[Refused]:
        """Links and special files in the store, which no listing, write or removal follows;
        each is logged. A person has to look at them (``skipwise gc`` shows them)."""
        for item in self._list_refused():
            log.warning("store %s: refused %s: %s", self.url, item.path, item.why)
            yield item

    @store_operation
    def pointer(self, name: str, instance: str = "") -> Pointer | None:
        """``name``'s pointer in ``instance`` ("": the unnamed instance)."""
        pointer = _pointer_or_none(self._read_pointer(pointer_key(name, instance)))
        return _placed(pointer, instance, name)

    @store_operation
    def pointers(self, instance: str | None = None) -> Iterator[Pointer]:
        """Every readable pointer of ``instance`` (None: of every instance); torn ones, and
        keys that name no instance and name, are logged and skipped."""
        for key, raw in self._list_pointers():
            try:
                owner, name = split_pointer_key(key)
            except SkipwiseError:
                log.warning("store %s: skipped pointer with an invalid name %r", self.url, key)
                continue
            if instance is not None and owner != instance:
                continue
            pointer = _placed(_pointer_or_none(raw), owner, name)
            if pointer is None:
                log.warning("store %s: skipped unreadable pointer %s", self.url, key)
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
        self._refuse_unsigned_pickle(chosen.name)
        return self._save(
            draft, tree, replace, lambda session: self._put_data(session, draft, chosen, value)
        )

    @store_operation
    def save_query(
        self,
        signature: str,
        query: Query,
        *,
        name: str,
        tree: Mapping[str, Any],
        producer: Mapping[str, Any],
        replace: bool = False,
    ) -> Manifest:
        """Run a lazy step's ``query`` in the database, its rows becoming the result's table,
        and commit it as :meth:`save` commits a value: in one transaction with the manifest,
        so a failing query (``QueryFailed``) leaves nothing behind."""
        self._writable()
        if self.sql_dialect() is None:
            raise StoreError(f"store {self.url} cannot run SQL queries (it is not a SQL store)")
        draft = draft_manifest(signature, name=name, codec="pandas", producer=producer)
        return self._save(
            draft, tree, replace, lambda session: self._put_query(session, draft, query)
        )

    def _save(
        self,
        draft: Manifest,
        tree: Mapping[str, Any],
        replace: bool,
        put: Callable[[W], Manifest],
    ) -> Manifest:
        """The commit protocol: ``put`` the data in a write session, then the tree, then the
        manifest, unless another writer committed the signature first."""
        signature = draft.signature
        try:
            with self._writing(signature) as session:
                # First writer wins: a committed entry stays (a damaged one raises CorruptEntry:
                # taking its place needs ``replace``).
                existing = None if replace else self._committed(signature, session)
                if existing is not None:
                    return existing
                manifest = put(session)
                manifest = dataclasses.replace(
                    manifest, checksum=content_checksum(draft.codec, manifest.checksum)
                )
                if self.signing_key:
                    manifest = signing.seal(manifest, self.signing_key)
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

    def sql_dialect(self) -> Any | None:
        """The SQLAlchemy dialect of the store's database; None for stores that run no SQL."""
        return self._sql_dialect()

    def sql_table(self, manifest: Manifest) -> Any | None:
        """A stored result as a SQLAlchemy table of its data columns (what a lazy step's query
        reads, what ``input_type=sa.Table`` hands a body), or None if it is not kept as a
        table. Nothing is read: a name, not verified data."""
        return self._sql_table(manifest)

    @store_operation
    def delete(self, signature: str) -> None:
        """Remove an entry: the manifest first, so no reader sees a half-deleted entry."""
        self._writable()
        validate_signature(signature)
        with self._writing(signature) as session:
            self._remove(session, signature)

    @store_operation
    def set_pointer(self, name: str, signature: str, instance: str = "") -> Pointer:
        """Point ``name`` in ``instance`` ("": the unnamed one) at ``signature``, keeping the
        signatures before it as history. Other instances' pointers of the name stay."""
        self._writable()
        key = pointer_key(name, instance)
        validate_signature(signature)
        for _ in range(POINTER_ATTEMPTS):
            with self._writing(f"name:{key}") as session:
                stored = self._read_pointer(key, session)
                current = _placed(_pointer_or_none(stored), instance, name)
                pointer = (
                    current.advanced(signature)
                    if current
                    else Pointer(name, signature, utc_now(), instance=instance)
                )
                if self._swap_pointer(session, key, stored, pointer):
                    return pointer
        raise StoreError(
            f"store {self.url}: pointer {key!r} kept changing under this writer; "
            f"gave up after {POINTER_ATTEMPTS} attempts"
        )

    @store_operation
    def remove_leftover(self, leftover: Leftover) -> None:
        self._writable()
        self._remove_leftover(leftover)

    # --- leases -----------------------------------------------------------------------

    def lease(
        self,
        signature: str,
        *,
        holder: Mapping[str, Any],
        policy: str = "wait",
        ttl: float = LEASE_TTL,
        what: str = "",
    ) -> Lease | None:
        """The lease on ``signature``, for computing it: taken when nobody holds it or its
        holder's lease expired (``ttl`` seconds after its last heartbeat). While another
        holds it, ``policy`` says what to do: "wait" until it is released (its holder
        committed, or failed) or expires, logging who holds it and for how long; "compute"
        returns None at once (compute without it); "fail" raises LeaseHeld naming the holder.
        ``holder`` (``producer_info()``) says who is computing; ``what`` names the result in
        messages. Release the lease once the result is committed (it is a context manager)."""
        self._writable()
        validate_signature(signature)
        if policy not in LEASE_POLICIES:
            raise SkipwiseError(f"lease policy must be one of {LEASE_POLICIES}, got {policy!r}")
        what = f"{what or 'result'} {signature[:12]}"
        started = reported = time.monotonic()
        pause = 0.05
        waited_for: LeaseRecord | None = None
        token = uuid.uuid4().hex  # ours across retries: a try whose reply was lost is known
        while True:
            try:
                taken = self._take_lease(signature, holder, ttl, token)
            except StoreError as exc:  # a busy store is waited out like a holder, for a TTL
                if not self._transient(exc.__cause__) or time.monotonic() - started > ttl:
                    raise
                taken = None
            if isinstance(taken, Lease):
                if waited_for is not None:
                    log.info(
                        "waited %.1fs for %s to compute %s",
                        time.monotonic() - started,
                        waited_for.holder_text(),
                        what,
                    )
                return taken
            if taken is not None:  # held, and alive
                if policy == "fail":
                    raise LeaseHeld(
                        f"{what} is being computed by {taken.holder_text()} since "
                        f"{taken.acquired_at} (store {self.url}, on_lease_held='fail')"
                    )
                if policy == "compute":
                    log.info(
                        "%s is being computed by %s; computing it too (on_lease_held='compute')",
                        what,
                        taken.holder_text(),
                    )
                    return None
                now = time.monotonic()
                if waited_for is None or now - reported >= WAIT_REPORT:
                    log.info(
                        "waiting for %s, computing %s since %s (waited %.0fs)",
                        taken.holder_text(),
                        what,
                        taken.acquired_at,
                        now - started,
                    )
                    reported = now
                waited_for = taken
            time.sleep(pause)
            pause = min(pause * 2, ttl / 4, LEASE_POLL)

    @store_operation
    def _take_lease(
        self, signature: str, holder: Mapping[str, Any], ttl: float, token: str
    ) -> Lease | LeaseRecord | None:
        """One try: the lease (free, or expired and taken over), or the record of its live
        holder, or None if another caller changed it meanwhile (try again). A record with
        ``token`` is this caller's own, written by a try whose reply was lost (the store
        operation is retried): it is the lease, not another holder's."""
        stored = self._read_lease(signature)
        current = None if stored is None else LeaseRecord.from_json(stored)
        if current is not None and current.token == token:
            return Lease(self, signature, current)
        if current is not None and not current.expired():
            return current
        record = LeaseRecord.new(holder, ttl, token)
        if not self._swap_lease(signature, stored, record.to_json()):
            return None
        if stored is not None:
            gone = current.holder_text() if current else "an unreadable lease"
            log.warning(
                "store %s: took over the lease on %s from %s, expired (holder dead or stalled)",
                self.url,
                signature[:12],
                gone,
            )
        return Lease(self, signature, record)

    @store_operation
    def _change_lease(self, signature: str, expected: bytes, record: bytes | None) -> bool:
        """Renew (``record``) or release (None) a lease still as ``expected``; True also when
        the store already holds ``record``: a retried try whose first reply was lost."""
        if self._swap_lease(signature, expected, record):
            return True
        current = self._read_lease(signature)
        if record is None or current is None:
            return record is None and current is None
        return LeaseRecord.from_json(current) == LeaseRecord.from_json(record)


class Lease:
    """A held lease on one signature. A heartbeat thread renews it every third of its TTL
    until it is released, so it expires only if this process dies or stalls that long."""

    def __init__(self, store: Store[Any], signature: str, record: LeaseRecord):
        self.store = store
        self.signature = signature
        self.record = record
        self._stored = record.to_json()
        self._stop = threading.Event()
        self._beat = threading.Thread(
            target=self._heartbeat, name=f"skipwise-lease-{signature[:12]}", daemon=True
        )
        self._beat.start()

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.record.ttl / 3):
            renewed = self.record.renewed()
            try:
                kept = self.store._change_lease(self.signature, self._stored, renewed.to_json())
            except SkipwiseError as exc:
                log.warning("could not renew the lease on %s: %s", self.signature[:12], exc)
                continue
            if not kept:
                log.warning(
                    "store %s: the lease on %s was taken over (this process was silent for "
                    "longer than its TTL of %ss): another caller may compute it too",
                    self.store.url,
                    self.signature[:12],
                    self.record.ttl,
                )
                return
            self.record, self._stored = renewed, renewed.to_json()

    def release(self) -> None:
        """Stop the heartbeat and remove the lease, if it is still this holder's."""
        self._stop.set()
        self._beat.join()
        try:
            self.store._change_lease(self.signature, self._stored, None)
        except SkipwiseError as exc:  # it expires by itself
            log.warning(
                "could not release the lease on %s (it expires within %ss): %s",
                self.signature[:12],
                self.record.ttl,
                exc,
            )
