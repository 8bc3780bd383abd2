"""The store rules live once, in ``protocol.Store``: a toy backend that implements only the
primitives, over dictionaries, passes the same contract as the four real backends.

Each test runs on the toy and on local, S3, SQLite and PostgreSQL stores. A rule moved out of
the protocol (or broken there) fails the toy; a backend that bends a primitive fails its own
run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from skipwise import LeaseHeld, StoreError
from skipwise.store import CorruptEntry, FilesystemStore, Leftover, Manifest, Pointer, open_store
from skipwise.store.base import LeaseRecord, draft_manifest
from skipwise.store.codecs import Codec, get_codec
from skipwise.store.primitives import Fetched, Raw, checksum_of
from skipwise.store.protocol import Store
from skipwise.store.sql import SQLStore
from tests.stores.conftest import BACKENDS
from tests.stores.damage import damage_data, rewrite_manifest

A, B, C, D = (f"{i:x}" * 64 for i in range(10, 14))
# What the engine, gc and CLI call: the protocol defines these, no backend does.
PUBLIC = (
    "exists_many",
    "exists",
    "manifest",
    "load",
    "save",
    "tree",
    "manifests",
    "delete",
    "pointer",
    "set_pointer",
    "pointers",
    "leftovers",
    "remove_leftover",
    "lease",
)
JSON = get_codec("json")
# How long a test waits for another writer that a lock may be holding back.
BLOCKED = 3


# --- a backend of primitives only ---------------------------------------------------------


@dataclasses.dataclass
class Shelf:
    """What a toy store holds. Two ToyStores on one shelf are two writers on one storage."""

    manifests: dict[str, bytes] = dataclasses.field(default_factory=dict)
    # Data and trees by (signature, reference): the bytes and when they were written.
    items: dict[tuple[str, str], tuple[bytes, datetime]] = dataclasses.field(default_factory=dict)
    pointers: dict[str, bytes] = dataclasses.field(default_factory=dict)
    leases: dict[str, bytes] = dataclasses.field(default_factory=dict)
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)


@dataclasses.dataclass
class Session:
    token: str = dataclasses.field(default_factory=lambda: uuid.uuid4().hex)
    written: list[tuple[str, str]] = dataclasses.field(default_factory=list)


class ToyStore(Store[Session]):
    """Only the primitives: no rule of the protocol is written here."""

    def __init__(self, shelf: Shelf, **settings: Any):
        super().__init__("toy://shelf", **settings)
        self.shelf = shelf

    def _find_committed(self, signatures: set[str]) -> set[str]:
        return signatures & self.shelf.manifests.keys()

    def _read_manifest(self, signature: str, session: Session | None = None) -> Raw | None:
        return self.shelf.manifests.get(signature)

    def _list_manifests(self) -> list[tuple[str, Raw]]:
        return sorted(self.shelf.manifests.items())

    def _read_data(self, manifest: Manifest, codec: Codec) -> Fetched | None:
        found = self.shelf.items.get((manifest.signature, manifest.data))
        return None if found is None else Fetched.of(found[0], codec)

    def _read_tree(self, manifest: Manifest) -> Raw | None:
        found = self.shelf.items.get((manifest.signature, manifest.tree))
        return None if found is None else found[0]

    def _read_pointer(self, name: str, session: Session | None = None) -> Raw | None:
        return self.shelf.pointers.get(name)

    def _list_pointers(self) -> list[tuple[str, Raw]]:
        return sorted(self.shelf.pointers.items())

    def _list_leftovers(self) -> Iterator[Leftover]:
        for (signature, reference), (data, written) in sorted(self.shelf.items.items()):
            try:
                manifest = self._committed(signature)
            except CorruptEntry:
                continue
            if manifest is None or reference not in (manifest.data, manifest.tree):
                yield Leftover(f"{signature}/{reference}", len(data), written)

    @contextlib.contextmanager
    def _writing(self, key: str) -> Iterator[Session]:
        session = Session()
        try:
            yield session
        except BaseException:
            for item in session.written:
                self.shelf.items.pop(item, None)
            raise

    def _put(self, session: Session, signature: str, reference: str, data: bytes) -> None:
        session.written.append((signature, reference))
        self.shelf.items[signature, reference] = (data, datetime.now(UTC))

    def _put_data(self, session: Session, draft: Manifest, codec: Codec, value: Any) -> Manifest:
        data = codec.encode(value)
        self._put(session, draft.signature, f"data-{session.token}", data)
        checksum, size = checksum_of(data)
        return dataclasses.replace(
            draft,
            data=f"data-{session.token}",
            tree=f"tree-{session.token}",
            checksum=checksum,
            size=size,
        )

    def _put_tree(self, session: Session, manifest: Manifest, tree: str) -> None:
        self._put(session, manifest.signature, manifest.tree, tree.encode())

    def _commit(self, session: Session, manifest: Manifest, replace: bool) -> bool:
        with self.shelf.lock:
            if manifest.signature in self.shelf.manifests and not replace:
                return False
            self.shelf.manifests[manifest.signature] = manifest.to_json()
            return True

    def _delete_manifest(self, session: Session, signature: str) -> bool:
        return self.shelf.manifests.pop(signature, None) is not None

    def _delete_data(self, session: Session, signature: str, manifest: Manifest | None) -> None:
        for item in [i for i in self.shelf.items if i[0] == signature]:
            del self.shelf.items[item]

    def _swap_pointer(
        self, session: Session, name: str, expected: Raw | None, pointer: Pointer
    ) -> bool:
        with self.shelf.lock:
            if self.shelf.pointers.get(name) != expected:
                return False
            self.shelf.pointers[name] = pointer.to_json()
            return True

    def _remove_leftover(self, leftover: Leftover) -> None:
        signature, reference = leftover.path.split("/")
        del self.shelf.items[signature, reference]

    def _read_lease(self, signature: str) -> Raw | None:
        return self.shelf.leases.get(signature)

    def _swap_lease(self, signature: str, expected: Raw | None, record: bytes | None) -> bool:
        with self.shelf.lock:
            if self.shelf.leases.get(signature) != expected:
                return False
            if record is None:
                self.shelf.leases.pop(signature, None)
            else:
                self.shelf.leases[signature] = record
            return True


class TransactionalToyStore(ToyStore):
    transactional = True


# --- the store under test, and what damages it behind its back ------------------------------


@pytest.fixture(params=["toy", *BACKENDS])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def reopen(backend: str, request: pytest.FixtureRequest) -> Callable[..., Store[Any]]:
    """Opens the test's store: each call is one more writer on the same storage."""
    if backend == "toy":
        shelf = Shelf()
        return lambda **settings: ToyStore(shelf, **settings)
    url = request.getfixturevalue("store_url")
    return lambda **settings: open_store(url, **settings)


@pytest.fixture
def store(reopen: Callable[..., Store[Any]]) -> Store[Any]:
    return reopen()


def save(store: Store[Any], signature: str, value: Any, codec: str = "json", **kw: Any) -> Manifest:
    return store.save(
        signature, value, codec=codec, name="contract", tree={"for": signature}, producer={}, **kw
    )


def rewrite(store: Store[Any], manifest: Manifest, body: dict[str, Any]) -> None:
    if isinstance(store, ToyStore):
        store.shelf.manifests[manifest.signature] = json.dumps(body).encode()
    else:
        rewrite_manifest(store, manifest, body)


def alter_data(store: Store[Any], manifest: Manifest) -> None:
    if isinstance(store, ToyStore):
        data, written = store.shelf.items[manifest.signature, manifest.data]
        store.shelf.items[manifest.signature, manifest.data] = (b"X" + data[1:], written)
    else:
        damage_data(store, manifest, "alter")


def tear_pointer(store: Store[Any], name: str) -> None:
    if isinstance(store, ToyStore):
        store.shelf.pointers[name] = b"{"
    elif isinstance(store, FilesystemStore):
        store.fs.pipe_file(store._pointer_path(name), b"{")
    else:
        assert isinstance(store, SQLStore)
        with store._transaction() as conn:
            names = store._names
            conn.execute(sa.update(names).where(names.c.name == name).values(body="{"))


# --- the contract ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [ToyStore, FilesystemStore, SQLStore])
def test_backends_implement_primitives_only(kind: type) -> None:
    assert [m for m in PUBLIC if m in vars(kind)] == []


def test_saved_results_come_back_checked(store: Store[Any]) -> None:
    frame = pd.DataFrame({"n": [1, 2, 3], "s": ["a", "b", "c"]})
    numbers = save(store, A, {"n": [1, 2]})
    table = save(store, B, frame, codec="pandas")
    assert store.manifest(A) == numbers
    assert store.load(store.manifest(A)) == {"n": [1, 2]}
    assert store.load(store.manifest(B)).equals(frame)
    assert store.tree(numbers) == {"for": A}
    assert store.exists_many([A, B, C]) == {A, B}
    assert store.exists(A) and not store.exists(C)
    assert store.manifest(C) is None
    assert list(store.manifests()) == sorted([numbers, table], key=lambda m: m.signature)


def test_altered_data_fails_its_checksum(store: Store[Any]) -> None:
    manifest = save(store, A, {"n": list(range(50))})
    alter_data(store, manifest)
    with pytest.raises(CorruptEntry, match="fails its checksum"):
        store.load(store.manifest(A))


def test_entry_of_another_signature_is_refused_and_not_listed(
    store: Store[Any], caplog: pytest.LogCaptureFixture
) -> None:
    one, two, three = save(store, A, [1]), save(store, B, [2]), save(store, C, [3])
    rewrite(store, one, json.loads(two.to_json()))
    rewrite(store, three, {"not": "a manifest"})
    with pytest.raises(CorruptEntry, match="is for"):
        store.manifest(A)
    with pytest.raises(CorruptEntry, match="unreadable manifest"):
        store.manifest(C)
    with caplog.at_level(logging.WARNING, logger="skipwise.store"):
        assert list(store.manifests()) == [two]
    skipped = [r.getMessage() for r in caplog.records if "skipped entry" in r.getMessage()]
    assert len(skipped) == 2 and A in skipped[0] and C in skipped[1]


def test_unreadable_entry_keeps_its_data(store: Store[Any]) -> None:
    manifest = save(store, A, pd.DataFrame({"n": range(10)}), codec="pandas")
    rewrite(store, manifest, {"not": "a manifest"})
    assert list(store.leftovers(timedelta(0))) == []


def test_delete_removes_the_manifest_first(store: Store[Any]) -> None:
    manifest = save(store, A, {"n": 1})
    order: list[str] = []

    def spy(primitive: str) -> None:
        method = getattr(store, primitive)

        def recorded(*args: Any) -> Any:
            order.append(primitive)
            return method(*args)

        setattr(store, primitive, recorded)

    spy("_delete_manifest")
    spy("_delete_data")
    store.delete(A)
    assert order == ["_delete_manifest", "_delete_data"]
    assert store.manifest(A) is None and store.exists_many([A]) == set()
    with pytest.raises(CorruptEntry, match="missing"):
        store.load(manifest)
    store.delete(A)  # nothing left to delete: no error
    assert list(store.leftovers(timedelta(0))) == []


def test_concurrent_writers_agree_on_the_first_commit(
    store: Store[Any], reopen: Callable[..., Store[Any]]
) -> None:
    """The first writer pauses between its tree and its commit while a second writer saves the
    same signature. Where nothing holds the second back it commits first and the first one's
    commit is lost; where a lock does, it finds the first one's entry. Either way both return
    the one committed entry, and the loser leaves nothing behind."""
    other = reopen()
    other.exists(D)  # open and check it now, not while the first writer holds a lock
    paused, resume = threading.Event(), threading.Event()
    put_tree = store._put_tree

    def put_tree_then_pause(*args: Any) -> None:
        put_tree(*args)
        paused.set()
        assert resume.wait(timeout=60)

    store._put_tree = put_tree_then_pause  # type: ignore[method-assign]
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(save, store, A, {"writer": "first"})
        assert paused.wait(timeout=60)
        second = pool.submit(save, other, A, {"writer": "second"})
        wait([second], timeout=BLOCKED)
        resume.set()
        first_sees, second_sees = first.result(), second.result()
    assert first_sees == second_sees
    assert [m.signature for m in store.manifests()] == [A]
    assert other.load(store.manifest(A)) in ({"writer": "first"}, {"writer": "second"})
    assert list(store.leftovers(timedelta(0))) == []


def test_replace_takes_over_a_damaged_entry(store: Store[Any]) -> None:
    first = save(store, A, {"v": 1})
    rewrite(store, first, {"not": "a manifest"})
    with pytest.raises(CorruptEntry):
        save(store, A, {"v": 2})  # without replace, the damaged commit still stands
    replaced = save(store, A, {"v": 2}, replace=True)
    assert store.manifest(A) == replaced
    assert store.load(replaced) == {"v": 2}


def test_pointer_keeps_history_when_another_writer_moves_it(
    store: Store[Any], reopen: Callable[..., Store[Any]]
) -> None:
    """Another writer moves the pointer between this writer's read and its write: the lost
    compare-and-set is tried again, so no signature drops out (where a lock holds the other
    writer back, it moves the pointer after this one instead)."""
    store.set_pointer("p", A)
    assert store.set_pointer("p", B) == store.pointer("p")
    assert (store.pointer("p").signature, store.pointer("p").history) == (B, (A,))
    other = reopen()
    other.pointer("p")
    swap = store._swap_pointer
    with ThreadPoolExecutor(1) as pool:
        moved: list[Any] = []

        def swap_after_other(*args: Any) -> bool:
            if not moved:
                moved.append(pool.submit(other.set_pointer, "p", C))
                wait(moved, timeout=BLOCKED)
            return swap(*args)

        store._swap_pointer = swap_after_other  # type: ignore[method-assign]
        store.set_pointer("p", D)
        moved[0].result()
    final = store.pointer("p")
    assert final.signature in (C, D)
    assert {final.signature, *final.history} == {A, B, C, D}
    assert final.history[-2:] == (B, A)


def test_torn_pointer_is_skipped_and_rewritten(
    store: Store[Any], caplog: pytest.LogCaptureFixture
) -> None:
    store.set_pointer("torn", A)
    store.set_pointer("whole", B)
    tear_pointer(store, "torn")
    assert store.pointer("torn") is None
    with caplog.at_level(logging.WARNING, logger="skipwise.store"):
        assert [p.name for p in store.pointers()] == ["whole"]
    assert any("torn" in r.getMessage() for r in caplog.records)
    assert store.set_pointer("torn", C).history == ()
    assert store.pointer("torn").signature == C


def test_read_only_store_refuses_every_write(reopen: Callable[..., Store[Any]]) -> None:
    writable = reopen()
    manifest = save(writable, A, [1])
    writable.set_pointer("p", A)
    store = reopen(read_only=True)
    writes: dict[str, Callable[[], Any]] = {
        "save": lambda: save(store, B, [2]),
        "delete": lambda: store.delete(A),
        "set_pointer": lambda: store.set_pointer("p", B),
        "remove_leftover": lambda: store.remove_leftover(Leftover("x", 0, datetime.now(UTC))),
    }
    for write in writes.values():
        with pytest.raises(StoreError, match="read-only"):
            write()
    assert list(store.manifests()) == [manifest]
    assert store.pointer("p").signature == A


def test_pickles_are_sealed_and_verified(reopen: Callable[..., Store[Any]]) -> None:
    signed = reopen(signing_key=b"team key, 16+ bytes")
    manifest = save(signed, A, {1, 2}, codec="pickle")
    assert len(manifest.extra["hmac"]) == 64
    assert signed.load(signed.manifest(A)) == {1, 2}
    other_key = reopen(signing_key=b"another key, 16+ bytes")
    with pytest.raises(CorruptEntry, match="wrong signature"):
        other_key.load(other_key.manifest(A))
    keyless = reopen()
    if not keyless.shared:
        assert "hmac" not in save(keyless, B, {3}, codec="pickle").extra
        return
    with pytest.raises(CorruptEntry, match="cannot be verified"):
        keyless.load(keyless.manifest(A))
    with pytest.raises(StoreError, match="must be signed"):
        save(keyless, B, {3}, codec="pickle")
    assert not keyless.exists(B)
    assert list(keyless.leftovers(timedelta(0))) == []


def test_a_lease_is_held_once_renewed_and_released(
    store: Store[Any], reopen: Callable[..., Store[Any]]
) -> None:
    """One holder at a time, by compare-and-set; once released, the next caller takes it. The
    heartbeat moves a holder's expiry on (a short TTL: renewed every fifth of a second)."""
    other = reopen()
    someone = {"user": "ana", "host": "etl-1", "pid": 41}
    with store.lease(A, holder=someone) as lease:
        with pytest.raises(LeaseHeld, match=r"result aaaaaaaaaaaa is being computed by ana@etl-1"):
            other.lease(A, holder={}, policy="fail")
        assert other.lease(A, holder={}, policy="compute") is None
        assert LeaseRecord.from_json(store._read_lease(A)) == lease.record  # type: ignore[arg-type]
    assert store._read_lease(A) is None
    with other.lease(B, holder=someone, ttl=0.6) as lease:
        first = other._read_lease(B)
        while other._read_lease(B) == first:  # until the heartbeat renews it (pytest timeout)
            time.sleep(0.05)
        renewed = LeaseRecord.from_json(other._read_lease(B))  # type: ignore[arg-type]
        assert renewed is not None and renewed.token == lease.record.token
        assert renewed.expires_at > LeaseRecord.from_json(first).expires_at  # type: ignore[arg-type,union-attr]
    assert other._read_lease(B) is None


def test_an_expired_lease_is_taken_over_and_its_holder_cannot_remove_it(
    store: Store[Any], reopen: Callable[..., Store[Any]], caplog: pytest.LogCaptureFixture
) -> None:
    """A holder that stopped renewing (killed) loses its lease at its expiry; if it comes back,
    its release leaves the new holder's lease alone."""
    dead = dataclasses.replace(
        LeaseRecord.new({"user": "bo", "host": "gone"}, 60, "dead"),
        expires_at=(datetime.now(UTC) - timedelta(seconds=1)).isoformat(),
    )
    store.exists(D)  # the store's one-time check (its tables) before a primitive is used
    assert store._swap_lease(A, None, dead.to_json())
    other = reopen()
    with caplog.at_level(logging.WARNING, logger="skipwise.store"):
        taken = other.lease(A, holder={"user": "cy", "host": "new"}, policy="fail")
    assert taken is not None
    assert "took over the lease" in caplog.text and "bo@gone" in caplog.text
    assert not store._swap_lease(A, dead.to_json(), None)  # the dead holder's release
    assert LeaseRecord.from_json(store._read_lease(A)).holder["user"] == "cy"  # type: ignore[union-attr]
    taken.release()
    assert store._read_lease(A) is None


# --- rules that need no real storage to show -------------------------------------------------


@pytest.mark.parametrize("kind,shown_at_once", [(ToyStore, False), (TransactionalToyStore, True)])
def test_leftovers_wait_out_the_grace_unless_writes_are_transactions(
    kind: type[ToyStore], shown_at_once: bool
) -> None:
    store = kind(Shelf())
    with store._writing(A) as session:  # a writer that stopped before its commit
        store._put_data(session, draft_manifest(A, name="x", codec="json", producer={}), JSON, [1])
    assert bool(list(store.leftovers())) == shown_at_once
    (leftover,) = store.leftovers(timedelta(0))
    store.remove_leftover(leftover)
    assert list(store.leftovers(timedelta(0))) == []


def test_a_pointer_that_never_settles_is_an_error() -> None:
    store = ToyStore(Shelf())
    store._swap_pointer = lambda *args: False  # type: ignore[method-assign]
    with pytest.raises(StoreError, match="kept changing"):
        store.set_pointer("p", A)
