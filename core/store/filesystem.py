"""A store on any fsspec filesystem: a local folder, ``memory://``, S3.

Layout under the root::

    objects/<sig[:2]>/<sig>/data-<token><suffix>   encoded result, never overwritten
    objects/<sig[:2]>/<sig>/tree-<token>.json      signature tree and sources
    objects/<sig[:2]>/<sig>/manifest.json          the commit, written last
    names/<name>.json                              pointer to a name's latest signature

Every writer uses its own token, so concurrent writers never touch each other's data; the
manifest decides which data is the entry. Locally the manifest is committed with a hard link,
which fails if another writer got there first; on object stores a PUT is atomic per object and
the commit is a conditional PUT (``If-None-Match: *``), so the first writer wins there too.

On object stores, existence checks for many signatures list the ``objects/<xx>/`` shards that
hold them, concurrently, instead of asking about each signature.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import uuid
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import fsspec
from fsspec.asyn import sync
from fsspec.implementations.local import LocalFileSystem

from skipwise import hashing
from skipwise.errors import StoreError
from skipwise.store.base import (
    LEFTOVER_GRACE,
    CorruptEntry,
    Leftover,
    Manifest,
    Pointer,
    Store,
    draft_manifest,
    store_operation,
    utc_now,
    validate_name,
    validate_signature,
)
from skipwise.store.codecs import Codec, get_codec, write_value

# Listing a shard pays off over one request per signature when it answers for this many.
LIST_PAYOFF = 2
# Errors from these libraries mean the object store could not be reached or refused us.
_TRANSPORT_MODULES = {"botocore", "aiobotocore", "aiohttp", "google", "azure"}


class FilesystemStore(Store):
    def __init__(
        self,
        url: str,
        storage_options: Mapping[str, Any] | None = None,
        *,
        read_only: bool = False,
        signing_key: bytes | None = None,
    ):
        self.url = url
        self.read_only = read_only
        self.signing_key = signing_key
        options = dict(storage_options or {})
        # Listings cached by fsspec would hide other writers' commits: always ask the store.
        options.setdefault("use_listings_cache", False)
        try:
            self.fs, root = fsspec.core.url_to_fs(url, **options)
        except (ImportError, ValueError, TypeError) as exc:
            raise StoreError(f"cannot open store {url}: {exc}") from exc
        self.root = root.rstrip("/")
        self._local = isinstance(self.fs, LocalFileSystem)

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

    def _pointer_path(self, name: str) -> str:
        return f"{self.root}/names/{validate_name(name)}.json"

    def _manifest_path(self, signature: str) -> str:
        return f"{self._entry(signature)}/manifest.json"

    def _read(self, path: str) -> bytes:
        """A whole object; local files skip fsspec's per-call overhead (the cache-hit path)."""
        if self._local:
            with open(path, "rb") as handle:
                return handle.read()
        return self.fs.cat_file(path)

    # --- reading ----------------------------------------------------------------------

    @store_operation
    def exists_many(self, signatures: Iterable[str]) -> set[str]:
        wanted = {self._manifest_path(s): s for s in signatures}
        if not self.fs.async_impl:  # a local stat each is as cheap as it gets
            return {s for path, s in wanted.items() if self.fs.exists(path)}
        shards = {s[:2] for s in wanted.values()}
        if len(wanted) >= LIST_PAYOFF * len(shards):
            prefixes = shards
        else:  # few signatures: one concurrent listing of each entry beats whole shards
            prefixes = {f"{s[:2]}/{s}" for s in wanted.values()}
        listed = sync(self.fs.loop, self._list, sorted(prefixes))
        return {s for path, s in wanted.items() if path in listed}

    async def _list(self, prefixes: list[str]) -> set[str]:
        # A key prefix (not a folder) lists in one request even when nothing matches.
        listings = await asyncio.gather(
            *(self.fs._find(f"{self.root}/objects", prefix=prefix) for prefix in prefixes)
        )
        return {path for listing in listings for path in listing}

    @store_operation
    def manifest(self, signature: str) -> Manifest | None:
        path = f"{self._entry(signature)}/manifest.json"
        try:
            raw = self._read(path)
        except FileNotFoundError:
            return None
        manifest = Manifest.from_json(raw, path)
        if manifest.signature != signature:
            raise CorruptEntry(f"manifest at {path} is for {manifest.signature}")
        return manifest

    @store_operation
    def load(self, manifest: Manifest) -> Any:
        self._verify(manifest)
        path = f"{self._entry(manifest.signature)}/{manifest.data}"
        codec = get_codec(manifest.codec)
        try:
            # Zero-copy codecs decode the very bytes that were checksummed, memory-mapped.
            data = self._map(path) if getattr(codec, "zero_copy", False) else self._read(path)
        except FileNotFoundError as exc:
            raise CorruptEntry(f"data of {manifest.signature} is missing at {path}") from exc
        if len(data) != manifest.size or hashing.digest_bytes(data) != manifest.checksum:
            raise CorruptEntry(f"data of {manifest.signature} at {path} fails its checksum")
        return codec.decode(data)

    def _map(self, path: str) -> Any:
        if not self._local:
            return self._read(path)
        import pyarrow as pa

        with pa.memory_map(path) as source:
            return source.read_buffer()

    @store_operation
    def tree(self, manifest: Manifest) -> dict[str, Any] | None:
        if not manifest.tree:
            return None
        try:
            return json.loads(
                self.fs.cat_file(f"{self._entry(manifest.signature)}/{manifest.tree}")
            )
        except (FileNotFoundError, ValueError):
            return None

    @store_operation
    def manifests(self) -> Iterator[Manifest]:
        paths = sorted(self.fs.glob(f"{self.root}/objects/*/*/manifest.json"))
        for path, raw in self._cat_many(paths):
            try:
                yield Manifest.from_json(raw, path)
            except CorruptEntry:
                continue

    def _cat_many(self, paths: list[str]) -> list[tuple[str, bytes]]:
        """Read many small files at once (concurrently on object stores); vanished ones are
        left out."""
        if not paths:
            return []
        return sorted(self.fs.cat(paths, on_error="omit").items())

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
        self._writable()
        token = uuid.uuid4().hex[:16]
        chosen = get_codec(codec)
        validate_name(name)
        entry = self._entry(signature)
        data = f"data-{token}{chosen.suffix}"
        self.fs.makedirs(entry, exist_ok=True)
        checksum, size = self._write_data(f"{entry}/{data}", chosen, value)
        manifest = self._seal(
            draft_manifest(
                signature,
                name=name,
                codec=chosen.name,
                producer=producer,
                data=data,
                tree=f"tree-{token}.json",
                checksum=checksum,
                size=size,
            )
        )
        self.fs.pipe_file(f"{entry}/{manifest.tree}", json.dumps(tree).encode())
        if self._commit(entry, token, manifest, replace):
            return manifest
        # Another writer committed the same signature first: theirs is the entry.
        for leftover in (manifest.data, manifest.tree):
            self.fs.rm_file(f"{entry}/{leftover}")
        existing = self.manifest(signature)
        if existing is None:
            raise StoreError(f"{self.url}: entry {signature} vanished while committing")
        return existing

    def _write_data(self, path: str, codec: Codec, value: Any) -> tuple[str, int]:
        """Write the encoded value to its (unique, not yet visible) file; (checksum, size).

        Locally the codec writes natively to the path and the file is then checksummed from the
        page cache on all cores; remotely the bytes are checksummed as they stream out.
        """
        try:
            if self._local:
                write_value(codec, value, path)
                return hashing.file_digest(path), os.path.getsize(path)
            with self.fs.open(path, "wb") as handle:
                sink = hashing.HashingWriter(handle)
                write_value(codec, value, sink)
            return sink.hexdigest(), sink.size
        except BaseException:
            with contextlib.suppress(OSError):
                self.fs.rm_file(path)
            raise

    def _commit(self, entry: str, token: str, manifest: Manifest, replace: bool) -> bool:
        target = f"{entry}/manifest.json"
        if not self._local:
            try:
                self.fs.pipe_file(
                    target, manifest.to_json(), mode="overwrite" if replace else "create"
                )
            except FileExistsError:
                return False
            return True
        temporary = f"{entry}/.manifest-{token}.tmp"
        with open(temporary, "wb") as handle:
            handle.write(manifest.to_json())
            handle.flush()
            os.fsync(handle.fileno())
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

    @store_operation
    def delete(self, signature: str) -> None:
        self._writable()
        entry = self._entry(signature)
        try:
            self.fs.rm_file(f"{entry}/manifest.json")
        except FileNotFoundError:
            return
        self.fs.rm(entry, recursive=True)

    # --- names ------------------------------------------------------------------------

    @store_operation
    def pointer(self, name: str) -> Pointer | None:
        path = self._pointer_path(name)
        try:
            return Pointer.from_json(self._read(path))
        except FileNotFoundError:
            return None
        except (ValueError, KeyError):
            return None  # a torn pointer is rewritten by the next call

    @store_operation
    def set_pointer(self, name: str, signature: str) -> Pointer:
        self._writable()
        validate_signature(signature)
        path = self._pointer_path(name)
        current = self.pointer(name)
        pointer = (
            current.advanced(signature)
            if current
            else Pointer(name=name, signature=signature, updated_at=utc_now())
        )
        if self._local:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            temporary = f"{path}.{uuid.uuid4().hex[:8]}.tmp"
            with open(temporary, "wb") as handle:
                handle.write(pointer.to_json())
            os.replace(temporary, path)
        else:
            self.fs.pipe_file(path, pointer.to_json())
        return pointer

    @store_operation
    def pointers(self) -> Iterator[Pointer]:
        paths = [p for p in self.fs.find(f"{self.root}/names") if p.endswith(".json")]
        for _path, raw in self._cat_many(paths):
            try:
                yield Pointer.from_json(raw)
            except (ValueError, KeyError):
                continue

    # --- leftovers --------------------------------------------------------------------

    @store_operation
    def leftovers(self, older_than: timedelta = LEFTOVER_GRACE) -> Iterator[Leftover]:
        cutoff = datetime.now(UTC) - older_than
        for entry in sorted(self.fs.glob(f"{self.root}/objects/*/*")):
            try:
                files = self.fs.ls(entry, detail=True)
            except FileNotFoundError:
                continue
            names = {f["name"].rsplit("/", 1)[-1]: f for f in files}
            referenced: set[str] = set()
            if "manifest.json" in names:
                try:
                    manifest = Manifest.from_json(self.fs.cat_file(f"{entry}/manifest.json"), entry)
                except (CorruptEntry, FileNotFoundError):
                    continue  # unreadable entries are reported by verification, not swept
                referenced = {"manifest.json", manifest.data, manifest.tree}
            for file_name, info in names.items():
                if file_name in referenced:
                    continue
                modified = _modified(self.fs, info)
                if modified <= cutoff:
                    yield Leftover(info["name"], int(info.get("size") or 0), modified)

    @store_operation
    def remove_leftover(self, leftover: Leftover) -> None:
        self._writable()
        self.fs.rm_file(leftover.path)


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
