"""A store on any fsspec filesystem: a local folder, ``memory://``, S3.

Layout under the root::

    objects/<sig[:2]>/<sig>/data-<token><suffix>   encoded result, never overwritten
    objects/<sig[:2]>/<sig>/tree-<token>.json      signature tree and sources
    objects/<sig[:2]>/<sig>/manifest.json          the commit, written last
    names/<name>.json                              pointer to a name's latest signature
    names/@<instance>/<name>.json                  the same, in a named instance
    leases/<sig>.json                              who is computing a signature (a lease)

Every writer uses its own token, so concurrent writers never touch each other's data; the
manifest decides which data is the entry. Locally the manifest is committed with a hard link,
which fails if another writer got there first; on object stores a PUT is atomic per object and
the commit is a conditional PUT (``If-None-Match: *``), so the first writer wins there too.

A pointer or a lease is replaced by compare-and-set: locally under a file lock (``names/.lock``,
``leases/.lock``), on S3 by a PUT conditional on the ETag of the object compared (``If-Match``),
or its absence (``If-None-Match: *``), and a DELETE conditional on the ETag. Other filesystems
(memory, GCS, Azure) have no such write here: between the compare and the write, the last
writer wins.

On object stores, existence checks for many signatures list the ``objects/<xx>/`` shards that
hold them, concurrently, instead of asking about each signature.

A local store never follows a link (or reads a FIFO) that someone put in it: files are opened
with ``O_NOFOLLOW`` and must be regular files, listings do not enter linked folders, and no
write, delete or sweep goes through a linked folder. ``_list_refused`` reports such items.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import mmap
import os
import stat
import uuid
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Unpack

import fsspec
from filelock import FileLock
from fsspec.asyn import sync
from fsspec.implementations.local import LocalFileSystem

from skipwise import hashing
from skipwise.errors import SkipwiseError, StoreError, has_password
from skipwise.store import s3
from skipwise.store.base import (
    Leftover,
    Manifest,
    OutsideStore,
    Pointer,
    Refused,
    split_pointer_key,
    validate_signature,
)
from skipwise.store.codecs import Codec, write_value
from skipwise.store.primitives import Fetched, Raw
from skipwise.store.protocol import Settings, Store

MANIFEST = "manifest.json"
# Listing a shard pays off over one request per signature when it answers for this many.
LIST_PAYOFF = 2
# A local pointer write waits this long (seconds) for another one before giving up.
LOCK_TIMEOUT = 60
# Errors from these libraries mean the object store could not be reached or refused us.
_TRANSPORT_MODULES = {"botocore", "aiobotocore", "aiohttp", "google", "azure"}
# S3 error codes of a conditional write that another writer beat.
_LOST_RACE = {"PreconditionFailed", "ConditionalRequestConflict"}


@dataclasses.dataclass
class _Write:
    """One writer's session: its token names its files, which go again unless it commits."""

    token: str = dataclasses.field(default_factory=lambda: uuid.uuid4().hex[:16])
    files: list[str] = dataclasses.field(default_factory=list)


class FilesystemStore(Store[_Write]):
    def __init__(
        self,
        url: str,
        storage_options: Mapping[str, Any] | None = None,
        **settings: Unpack[Settings],
    ):
        super().__init__(url, **settings)
        if has_password(url):
            raise StoreError(
                f"cannot open store {url}: a password in the URL is not used here; pass "
                "credentials as storage_options (key and secret) or the standard environment"
            )
        options = dict(storage_options or {})
        # Listings cached by fsspec would hide other writers' commits: always ask the store.
        options.setdefault("use_listings_cache", False)
        if url.split("://", 1)[0].lower() in s3.S3_SCHEMES:
            options = s3.with_prepared_session(options)
        try:
            self.fs, root = fsspec.core.url_to_fs(url, **options)
            self._local = isinstance(self.fs, LocalFileSystem)
            # Locally the root is resolved once: below it, every link is refused.
            self.root = os.path.realpath(root) if self._local else root.rstrip("/")
        except (ImportError, ValueError, TypeError, OSError) as exc:
            raise StoreError(f"cannot open store {url}: {exc}") from None
        self._s3 = "s3" in self.fs.protocol

    def __repr__(self) -> str:
        return f"FilesystemStore({self.url!r})"

    @property
    def shared(self) -> bool:
        return not self._local and "memory" not in self.fs.protocol

    def _check(self) -> None:
        if not self.fs.async_impl:
            return
        bucket = self.root.split("/", 1)[0]
        try:
            self.fs.info(bucket)
        except FileNotFoundError:
            raise StoreError(f"store {self.url}: bucket {bucket!r} does not exist") from None

    def _transport_error(self, exc: Exception) -> str | None:
        if isinstance(exc, PermissionError):
            return f"access denied, check the credentials ({exc})"
        if type(exc).__module__.partition(".")[0] in _TRANSPORT_MODULES:
            return f"cannot reach the store: {type(exc).__name__}: {exc}"
        return super()._transport_error(exc)

    # --- paths ------------------------------------------------------------------------

    def _entry(self, signature: str) -> str:
        validate_signature(signature)
        return f"{self.root}/objects/{signature[:2]}/{signature}"

    def _where(self, signature: str, item: str | None = None) -> str:
        return f"{self._entry(signature)}/{item or MANIFEST}"

    def _pointer_path(self, key: str) -> str:
        split_pointer_key(key)  # a name, or @instance/name: never a path elsewhere
        return f"{self.root}/names/{key}.json"

    def _place(self, path: str) -> tuple[str, str] | None:
        """(signature, file name or "" for the folder) of a path inside an entry, else None."""
        prefix = f"{self.root}/objects/"
        parts = path[len(prefix) :].split("/")
        if not path.startswith(prefix) or len(parts) not in (2, 3) or parts[0] != parts[1][:2]:
            return None
        try:
            signature = validate_signature(parts[1])
        except SkipwiseError:
            return None
        return signature, parts[2] if len(parts) == 3 else ""

    def _refuse_links(self, path: str) -> None:
        """Raise OutsideStore if, below the root, ``path`` or a folder on the way to it is a
        link (local stores; object stores have none). Checked before every write and removal."""
        if not self._local:
            return
        current = self.root
        for part in path.removeprefix(self.root).strip("/").split("/"):
            current = f"{current}/{part}"
            try:
                mode = os.lstat(current).st_mode
            except FileNotFoundError:
                return
            if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
                raise OutsideStore(f"store {self.url}: {_refusal(current, mode)}")

    def _read(self, path: str, size: int = 0) -> bytes:
        """A whole object; local files skip fsspec's per-call overhead (the cache-hit path).

        ``size`` is what the object's size is known to be (0: one of the small records a store
        keeps, manifests, trees, pointers, leases). s3fs asks an object's size (a HEAD request)
        before every read, to split a large one into concurrent ranges; for an object known to
        be smaller than one range that is a round trip for nothing, half of a hit's requests.
        """
        if not self._local:
            if self._s3 and size <= self.fs.default_block_size:
                return self.fs.cat_file(path, max_concurrency=1)
            return self.fs.cat_file(path)
        with open(self._open_file(path), "rb") as handle:
            return handle.read()

    def _open_file(self, path: str) -> int:
        """A local file opened for reading, only if it is a regular file (not a link, not a
        FIFO that would block): its descriptor."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno != errno.ELOOP:
                raise
            raise OutsideStore(f"store {self.url}: {_refusal(path, stat.S_IFLNK)}") from None
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            os.close(fd)
            raise OutsideStore(f"store {self.url}: {_refusal(path, mode)}")
        return fd

    def _read_or_none(self, path: str) -> bytes | None:
        try:
            return self._read(path)
        except FileNotFoundError:
            return None

    def _cat_many(self, paths: list[str]) -> list[tuple[str, bytes]]:
        """Read many small files at once (concurrently on object stores); vanished ones are
        left out."""
        if self._local:
            read = ((path, self._read_or_none(path)) for path in sorted(paths))
            return [(path, raw) for path, raw in read if raw is not None]
        if not paths:
            return []
        return sorted(self.fs.cat(paths, on_error="omit").items())

    def _files(self, folder: str) -> list[dict[str, Any]]:
        """Every regular file under ``folder`` (fsspec's info: name, size, a time), by name.
        Locally a link or special file is left out and a linked folder never entered."""
        if not self._local:
            try:
                found = self.fs.find(folder, detail=True)
            except FileNotFoundError:
                return []
            return [found[path] for path in sorted(found)]
        files = []
        for item in _scan(folder):
            if item.is_file(follow_symlinks=False):
                info = item.stat(follow_symlinks=False)
                files.append({"name": item.path, "size": info.st_size, "mtime": info.st_mtime})
        return sorted(files, key=lambda info: info["name"])

    # --- reading ----------------------------------------------------------------------

    def _find_committed(self, signatures: set[str]) -> set[str]:
        wanted = {self._where(s): s for s in signatures}
        if not self.fs.async_impl:  # a local stat each is as cheap as it gets
            return {s for path, s in wanted.items() if self.fs.exists(path)}
        shards = {s[:2] for s in signatures}
        if len(wanted) >= LIST_PAYOFF * len(shards):
            prefixes = shards
        else:  # few signatures: one concurrent listing of each entry beats whole shards
            prefixes = {f"{s[:2]}/{s}" for s in signatures}
        listed = sync(self.fs.loop, self._list, sorted(prefixes))
        return {s for path, s in wanted.items() if path in listed}

    async def _list(self, prefixes: list[str]) -> set[str]:
        # A key prefix (not a folder) lists in one request even when nothing matches.
        listings = await asyncio.gather(
            *(self.fs._find(f"{self.root}/objects", prefix=prefix) for prefix in prefixes)
        )
        return {path for listing in listings for path in listing}

    def _read_manifest(self, signature: str, session: _Write | None = None) -> Raw | None:
        return self._read_or_none(self._where(signature))

    def _list_manifests(self) -> Iterator[tuple[str, Raw]]:
        paths = [
            info["name"]
            for info in self._files(f"{self.root}/objects")
            if (self._place(info["name"]) or ("", ""))[1] == MANIFEST
        ]
        for path, raw in self._cat_many(paths):
            yield path.rsplit("/", 2)[-2], raw

    def _read_data(self, manifest: Manifest, codec: Codec) -> Fetched | None:
        path = self._where(manifest.signature, manifest.data)
        try:
            # Zero-copy codecs decode the very bytes that were checksummed, memory-mapped.
            zero_copy = getattr(codec, "zero_copy", False)
            data = self._map(path, manifest.size) if zero_copy else self._read(path, manifest.size)
        except FileNotFoundError:
            return None
        return Fetched.of(data, codec)

    def _map(self, path: str, size: int) -> Any:
        if not self._local:
            return self._read(path, size)
        import pyarrow as pa

        with open(self._open_file(path), "rb") as handle:
            if not os.fstat(handle.fileno()).st_size:
                return b""  # an empty file cannot be mapped
            return pa.py_buffer(mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ))

    def _read_tree(self, manifest: Manifest) -> Raw | None:
        return self._read_or_none(self._where(manifest.signature, manifest.tree))

    def _read_pointer(self, key: str, session: _Write | None = None) -> Raw | None:
        return self._read_or_none(self._pointer_path(key))

    def _list_pointers(self) -> Iterator[tuple[str, Raw]]:
        folder = f"{self.root}/names/"
        paths = [f["name"] for f in self._files(folder) if f["name"].endswith(".json")]
        for path, raw in self._cat_many(paths):
            yield path.removeprefix(folder).removesuffix(".json"), raw

    def _list_leftovers(self) -> Iterator[Leftover]:
        entries: dict[str, dict[str, dict[str, Any]]] = {}
        for info in self._files(f"{self.root}/objects"):
            place = self._place(info["name"])
            if place is not None:
                entries.setdefault(place[0], {})[place[1]] = info
        for signature, files in sorted(entries.items()):
            referenced: set[str] = set()
            if MANIFEST in files:
                try:
                    manifest = self._committed(signature)
                except SkipwiseError:
                    continue  # unreadable entries are reported by verification, not swept
                if manifest is None:
                    continue  # deleted meanwhile
                referenced = {MANIFEST, manifest.data, manifest.tree}
            for file_name, info in files.items():
                if file_name not in referenced:
                    yield Leftover(
                        info["name"], int(info.get("size") or 0), _modified(self.fs, info)
                    )
        yield from self._empty_entries(entries.keys())

    def _empty_entries(self, with_files: Iterable[str]) -> Iterator[Leftover]:
        """Local entry folders with nothing in them (a writer killed before its first file)."""
        if not self._local:
            return
        for item in _scan(f"{self.root}/objects"):
            place = self._place(item.path)
            if (
                place is not None
                and not place[1]
                and place[0] not in with_files
                and item.is_dir(follow_symlinks=False)
                and not os.listdir(item.path)
            ):
                modified = datetime.fromtimestamp(item.stat().st_mtime, UTC)
                yield Leftover(item.path, 0, modified)

    def _list_refused(self) -> Iterator[Refused]:
        if not self._local:
            return
        for item in sorted(_scan(self.root), key=lambda item: item.path):
            mode = item.stat(follow_symlinks=False).st_mode
            if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
                yield Refused(item.path, _refusal(item.path, mode))

    # --- writing ----------------------------------------------------------------------

    @contextlib.contextmanager
    def _writing(self, key: str) -> Iterator[_Write]:
        session = _Write()
        try:
            yield session
        except BaseException:
            for path in session.files:
                with contextlib.suppress(OSError):
                    self.fs.rm_file(path)
            raise

    def _put_data(self, session: _Write, draft: Manifest, codec: Codec, value: Any) -> Manifest:
        entry = self._entry(draft.signature)
        self._refuse_links(entry)
        data = f"data-{session.token}{codec.suffix}"
        session.files.append(f"{entry}/{data}")
        for attempt in (1, 2):
            self.fs.makedirs(entry, exist_ok=True)
            try:
                checksum, size = self._write_data(session.files[-1], codec, value)
                break
            except FileNotFoundError:
                if attempt == 2:  # gc may remove an empty entry folder once, not twice
                    raise
        tree = f"tree-{session.token}.json"
        return dataclasses.replace(draft, data=data, tree=tree, checksum=checksum, size=size)

    def _write_data(self, path: str, codec: Codec, value: Any) -> tuple[str, int]:
        """Write the encoded value to its (unique, not yet visible) file; (checksum, size).

        Locally the codec writes natively to the path and the file is then checksummed from the
        page cache on all cores; remotely the bytes are checksummed as they stream out.
        """
        if self._local:
            write_value(codec, value, path)
            return hashing.file_digest(path), os.path.getsize(path)
        with self.fs.open(path, "wb") as handle:
            sink = hashing.HashingWriter(handle)
            write_value(codec, value, sink)
        return sink.hexdigest(), sink.size

    def _put_tree(self, session: _Write, manifest: Manifest, tree: str) -> None:
        session.files.append(self._where(manifest.signature, manifest.tree))
        self.fs.pipe_file(session.files[-1], tree.encode())

    def _commit(self, session: _Write, manifest: Manifest, replace: bool) -> bool:
        target = self._where(manifest.signature)
        if not self._local:
            try:
                self.fs.pipe_file(
                    target, manifest.to_json(), mode="overwrite" if replace else "create"
                )
            except FileExistsError:
                return False
            return True
        temporary = f"{self._entry(manifest.signature)}/.manifest-{session.token}.tmp"
        _write_file(temporary, manifest.to_json())
        try:
            if replace:
                os.replace(temporary, target)
                return True
            try:
                os.link(temporary, target)
                return True
            except FileExistsError:
                return False
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)

    def _delete_manifest(self, session: _Write, signature: str) -> bool:
        path = self._where(signature)
        self._refuse_links(path)
        try:
            if not self._local:
                self.fs.info(path)  # object stores delete what is not there without a word
            self.fs.rm_file(path)
        except FileNotFoundError:
            return False
        return True

    def _delete_data(self, session: _Write, signature: str, manifest: Manifest | None) -> None:
        self._refuse_links(self._entry(signature))
        with contextlib.suppress(FileNotFoundError):  # another deleter got there first
            self.fs.rm(self._entry(signature), recursive=True)

    def _swap_pointer(
        self, session: _Write, key: str, expected: Raw | None, pointer: Pointer
    ) -> bool:
        return self._swap(self._pointer_path(key), expected, pointer.to_json())

    def _lease_path(self, signature: str) -> str:
        return f"{self.root}/leases/{validate_signature(signature)}.json"

    def _read_lease(self, signature: str) -> Raw | None:
        return self._read_or_none(self._lease_path(signature))

    def _swap_lease(self, signature: str, expected: Raw | None, record: bytes | None) -> bool:
        return self._swap(self._lease_path(signature), expected, record)

    def _swap(self, path: str, expected: Raw | None, data: bytes | None) -> bool:
        """Write ``data`` to ``path`` (None: remove it) if it still holds ``expected`` (None:
        it is absent); False if it does not. Locally under the folder's ``.lock``."""
        if self._s3:
            return self._swap_on_s3(path, expected, data)
        if not self._local:  # no compare-and-set here: the last writer wins after the compare
            if self._read_or_none(path) != expected:
                return False
            if data is None:
                self.fs.rm_file(path)
            else:
                self.fs.pipe_file(path, data)
            return True
        lock = f"{os.path.dirname(path)}/.lock"
        self._refuse_links(path)
        self._refuse_links(lock)  # the lock file is truncated when taken: never a link
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with FileLock(lock, timeout=LOCK_TIMEOUT):
            if self._read_or_none(path) != expected:
                return False
            if data is None:
                os.unlink(path)
                return True
            temporary = f"{path}.{uuid.uuid4().hex[:16]}.tmp"
            _write_file(temporary, data)
            os.replace(temporary, path)
        return True

    def _swap_on_s3(self, path: str, expected: Raw | None, data: bytes | None) -> bool:
        """A PUT (or DELETE) that holds only while the object is the one compared (or is
        still absent)."""
        try:
            try:
                with self.fs.open(path, "rb") as handle:
                    current = handle.read()
                    condition: dict[str, Any] = {"IfMatch": handle.details["ETag"]}
            except FileNotFoundError:
                current, condition = None, {"mode": "create"}
            if current != expected:
                return False
            if data is not None:
                self.fs.pipe_file(path, data, **condition)
            elif current is not None:  # s3fs's rm_file takes no condition: ask S3 directly
                bucket, key, _ = self.fs.split_path(path)
                sync(
                    self.fs.loop,
                    self.fs._call_s3,
                    "delete_object",
                    Bucket=bucket,
                    Key=key,
                    **condition,
                )
        except FileExistsError:
            return False  # created meanwhile
        except Exception as exc:
            if _s3_error_code(exc) in _LOST_RACE:
                return False
            raise
        return True

    def _remove_leftover(self, leftover: Leftover) -> None:
        place = self._place(leftover.path)
        if place is None:
            raise StoreError(f"store {self.url}: {leftover.path} is not inside an entry")
        self._refuse_links(leftover.path)
        signature, file_name = place
        if file_name:
            self.fs.rm_file(leftover.path)
        if self._local:  # an entry folder left empty goes too, then its shard if now empty
            entry = self._entry(signature)
            with contextlib.suppress(OSError):  # not empty: a writer is busy there
                os.rmdir(entry)
                os.rmdir(os.path.dirname(entry))


def _scan(folder: str) -> Iterator[os.DirEntry[str]]:
    """Everything under a local folder; links are listed, never entered (nor is ``folder`` if
    it is one)."""
    if os.path.islink(folder):
        return
    try:
        with os.scandir(folder) as listing:
            items = list(listing)
    except (FileNotFoundError, NotADirectoryError):
        return
    for item in items:
        yield item
        if item.is_dir(follow_symlinks=False):
            yield from _scan(item.path)


def _refusal(path: str, mode: int) -> str:
    """Why ``path`` is refused, for messages and gc's report."""
    if stat.S_ISLNK(mode):
        return (
            f"{path} is a link to {os.path.realpath(path)}: skipwise never follows links in a "
            "store; remove it"
        )
    return f"{path} is not a regular file or folder: skipwise never reads it; remove it"


def _write_file(path: str, data: bytes) -> None:
    """A whole local file, on disk before it is linked or renamed into place."""
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _s3_error_code(exc: BaseException | None) -> str | None:
    """The S3 error code behind an error s3fs raised (botocore's error is among its causes)."""
    while exc is not None:
        response = getattr(exc, "response", None)
        if response:
            return response.get("Error", {}).get("Code")
        exc = exc.__cause__
    return None


def _modified(fs: fsspec.AbstractFileSystem, info: Mapping[str, Any]) -> datetime:
    for key in ("mtime", "LastModified", "created"):
        value = info.get(key)
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        if isinstance(value, int | float):
            return datetime.fromtimestamp(value, UTC)
    try:
        value = fs.modified(info["name"])
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    except (NotImplementedError, FileNotFoundError):
        return datetime.now(UTC)
