"""What a store backend implements: a few primitives that move bytes, rows or files.

A backend knows nothing of the rules (manifest last, checksums, signatures, pointer history,
bad entries, read-only, signed pickles): ``protocol.Store`` applies them, once, on top of these.
docs/stores.md, "Adding a backend", says how the two fit.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from skipwise import hashing
from skipwise.store.base import Leftover, Manifest, Pointer, Query, Refused
from skipwise.store.codecs import Codec

W = TypeVar("W")  # a backend's write session
Raw = bytes | str  # a manifest, tree or pointer as stored (JSON)


def checksum_of(data: Any) -> tuple[str, int]:
    """Checksum and size of encoded data (any buffer), as a manifest records them."""
    view = memoryview(data)
    return hashing.digest_bytes(view), view.nbytes


@dataclass(frozen=True)
class Fetched:
    """An entry's data as read back: what its checksum covers, and how to decode it (called only
    once the checksum matched the manifest's)."""

    checksum: str
    size: int
    decode: Callable[[], Any]

    @classmethod
    def of(cls, data: Any, codec: Codec) -> Fetched:
        """Encoded bytes (or any buffer) that ``codec`` decodes."""
        checksum, size = checksum_of(data)
        return cls(checksum, size, lambda: codec.decode(data))


class Backend(ABC, Generic[W]):
    """The primitives of one kind of storage. ``W`` is its write session: whatever it needs to
    write one entry or pointer (a transaction, a writer's token and files)."""

    url: str

    # True where a write session is a transaction: what it wrote stays invisible until it
    # commits and is gone if it does not. Data no manifest refers to cannot then belong to a busy
    # writer: it goes with its entry, and it is a leftover at once, with no grace period.
    transactional: ClassVar[bool] = False

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

    def _transient(self, exc: BaseException | None) -> bool:
        """Whether ``exc`` is a passing failure worth trying again (a busy database, a
        connection the server dropped); the store retries with backoff."""
        return False

    def _where(self, signature: str, item: str | None = None) -> str:
        """Where an entry's manifest is (or, given ``Manifest.data``, its data), for messages."""
        return f"{self.url} entry {signature} {item or 'manifest'}"

    def _owns(self, manifest: Manifest) -> bool:
        """Whether the data and tree a (well-formed) manifest names are its own entry's, where
        a plain name alone does not say so (a table of the same schema as other entries')."""
        return True

    def _list_refused(self) -> Iterable[Refused]:
        """What the storage holds that is not a plain file or folder (a link, a FIFO): the
        other primitives never follow, read through or remove it. None where there is none."""
        return ()

    # --- reading ----------------------------------------------------------------------

    @abstractmethod
    def _find_committed(self, signatures: set[str]) -> set[str]:
        """Which of these (valid) signatures have a manifest; batched where the storage can."""

    @abstractmethod
    def _read_manifest(self, signature: str, session: W | None = None) -> Raw | None:
        """An entry's manifest as stored, or None (inside ``session`` if one is given)."""

    @abstractmethod
    def _list_manifests(self) -> Iterable[tuple[str, Raw]]:
        """(signature, manifest as stored) of every committed entry, in signature order."""

    @abstractmethod
    def _read_data(self, manifest: Manifest, codec: Codec) -> Fetched | None:
        """The data ``manifest`` refers to, or None if it is not there."""

    @abstractmethod
    def _read_tree(self, manifest: Manifest) -> Raw | None:
        """The signature tree ``manifest`` refers to, or None."""

    @abstractmethod
    def _read_pointer(self, key: str, session: W | None = None) -> Raw | None:
        """A pointer as stored, or None. ``key`` is a name, or ``@<instance>/<name>`` for a
        named instance's pointer (see ``base.pointer_key``)."""

    @abstractmethod
    def _list_pointers(self) -> Iterable[tuple[str, Raw]]:
        """(key, pointer as stored) of every pointer, every instance's."""

    @abstractmethod
    def _list_leftovers(self) -> Iterable[Leftover]:
        """Data no committed manifest refers to, whatever its age (the store applies the grace
        period). An entry whose manifest cannot be read is left alone: it is not garbage."""

    # --- writing ----------------------------------------------------------------------

    @abstractmethod
    def _writing(self, key: str) -> contextlib.AbstractContextManager[W]:
        """A write session for ``key`` (a signature, or ``name:<name>`` for a pointer). If the
        block raises, what the session wrote is undone: rolled back, or its files removed."""

    @abstractmethod
    def _put_data(self, session: W, draft: Manifest, codec: Codec, value: Any) -> Manifest:
        """Write ``value`` encoded by ``codec`` where no reader looks yet; return ``draft`` with
        ``data`` and ``tree`` (where this data and the tree go), ``checksum`` and ``size`` of what
        a reader will get back, and any ``extra`` needed to read it."""

    @abstractmethod
    def _put_tree(self, session: W, manifest: Manifest, tree: str) -> None:
        """Store the signature tree (JSON) where ``manifest.tree`` says, before the commit."""

    @abstractmethod
    def _commit(self, session: W, manifest: Manifest, replace: bool) -> bool:
        """Make ``manifest`` the entry's commit, atomically: if there is none yet (False when
        another writer's is there), or over the existing one when ``replace``."""

    @abstractmethod
    def _delete_manifest(self, session: W, signature: str) -> bool:
        """Remove an entry's manifest; whether there was one."""

    @abstractmethod
    def _delete_data(self, session: W, signature: str, manifest: Manifest | None) -> None:
        """Remove the rest of an entry whose manifest is gone (``manifest``: what it said, if it
        could be read)."""

    @abstractmethod
    def _swap_pointer(self, session: W, key: str, expected: Raw | None, pointer: Pointer) -> bool:
        """Store ``pointer`` if the stored one is still ``expected`` (None: there is none);
        False if it changed. Atomic where the storage allows; where it does not, the backend's
        documentation says so."""

    @abstractmethod
    def _remove_leftover(self, leftover: Leftover) -> None:
        """Remove one item ``_list_leftovers`` listed."""

    # --- SQL: stores that keep results as tables of a database run lazy steps' queries ---

    def _sql_dialect(self) -> Any | None:
        """The SQLAlchemy dialect a lazy step's query is compiled for; None: no SQL here."""
        return None

    def _sql_table(self, manifest: Manifest) -> Any | None:
        """A stored result as the SQLAlchemy table a lazy step's query reads (its data
        columns), or None if it is not kept as a table."""
        return None

    def _put_query(self, session: W, draft: Manifest, query: Query) -> Manifest:
        """Run ``query`` in ``session`` so that its rows become the entry's table; return
        ``draft`` completed as :meth:`_put_data` does. Only stores with a dialect get here."""
        raise NotImplementedError

    # --- leases -----------------------------------------------------------------------

    @abstractmethod
    def _read_lease(self, signature: str) -> Raw | None:
        """The lease record of a signature as stored, or None if nobody holds it."""

    @abstractmethod
    def _swap_lease(self, signature: str, expected: Raw | None, record: bytes | None) -> bool:
        """Store ``record`` as the signature's lease (None: remove it) if the stored one is
        still ``expected`` (None: there is none); False if it is not. Atomic: two callers
        that compare the same ``expected`` never both succeed."""
