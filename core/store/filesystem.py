"""A store on any fsspec filesystem: a local folder, ``memory://``, S3.

Layout under the root::

    objects/<sig[:2]>/<sig>/data-<token><suffix>   encoded result, never overwritten
    objects/<sig[:2]>/<sig>/tree-<token>.json      signature tree and sources
    objects/<sig[:2]>/<sig>/manifest.json          the commit, written last
    names/<name>.json                              pointer to a name's latest signature

Every writer uses its own token, so concurrent writers never touch each other's data; the
manifest decides which data is the entry. Locally the manifest is committed with a hard link,
which fails if another writer got there first; on object stores a PUT is atomic per object.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem
from skipwise import hashing
from skipwise.errors import StoreError
from skipwise.store.base import (
    CorruptEntry,
    Leftover,
    Manifest,
    Pointer,
    Store,
    utc_now,
    validate_name,
    validate_signature,
)
from skipwise.store.codecs import get_codec

# A writer still busy after this long is taken to be dead; its files become leftovers.
LEFTOVER_GRACE = timedelta(hours=1)


class FilesystemStore(Store):
    def __init__(self, url: str, storage_options: Mapping[str, Any] | None = None):
        self.url = url
        try:
            self.fs, root = fsspec.core.url_to_fs(url, **dict(storage_options or {}))
        except (ImportError, ValueError) as exc:
            raise StoreError(f"cannot open store {url}: {exc}") from exc
        self.root = root.rstrip("/")
        self._local = isinstance(self.fs, LocalFileSystem)

    def __repr__(self) -> str:
        return f"FilesystemStore({self.url!r})"

    # --- paths ------------------------------------------------------------------------

    def _entry(self, signature: str) -> str:
        validate_signature(signature)
        return f"{self.root}/objects/{signature[:2]}/{signature}"

    def _pointer_path(self, name: str) -> str:
        return f"{self.root}/names/{validate_name(name)}.json"

    # --- reading ----------------------------------------------------------------------

    def exists_many(self, signatures: Iterable[str]) -> set[str]:
        return {s for s in signatures if self.fs.exists(f"{self._entry(s)}/manifest.json")}

    def manifest(self, signature: str) -> Manifest | None:
        path = f"{self._entry(signature)}/manifest.json"
        try:
            raw = self.fs.cat_file(path)
        except FileNotFoundError:
            return None
        manifest = Manifest.from_json(raw, path)
        if manifest.signature != signature:
            raise CorruptEntry(f"manifest at {path} is for {manifest.signature}")
        return manifest

    def load(self, manifest: Manifest) -> Any:
        path = f"{self._entry(manifest.signature)}/{manifest.data}"
        try:
            data = self.fs.cat_file(path)
        except FileNotFoundError as exc:
            raise CorruptEntry(f"data of {manifest.signature} is missing at {path}") from exc
        if len(data) != manifest.size or hashing.digest_bytes(data) != manifest.checksum:
            raise CorruptEntry(f"data of {manifest.signature} at {path} fails its checksum")
        return get_codec(manifest.codec).decode(data)

    def tree(self, manifest: Manifest) -> dict[str, Any] | None:
        if not manifest.tree:
            return None
        try:
            return json.loads(
                self.fs.cat_file(f"{self._entry(manifest.signature)}/{manifest.tree}")
            )
        except (FileNotFoundError, ValueError):
            return None

    def manifests(self) -> Iterator[Manifest]:
        for path in sorted(self.fs.glob(f"{self.root}/objects/*/*/manifest.json")):
            try:
                yield Manifest.from_json(self.fs.cat_file(path), path)
            except (CorruptEntry, FileNotFoundError):
                continue

    # --- writing ----------------------------------------------------------------------

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
        entry = self._entry(signature)
        token = uuid.uuid4().hex[:16]
        chosen = get_codec(codec)
        payload = chosen.encode(value)
        manifest = Manifest(
            signature=signature,
            name=name,
            codec=chosen.name,
            data=f"data-{token}{chosen.suffix}",
            checksum=hashing.digest_bytes(payload),
            size=len(payload),
            created_at=utc_now(),
            producer=dict(producer),
            tree=f"tree-{token}.json",
        )
        self.fs.makedirs(entry, exist_ok=True)
        self.fs.pipe_file(f"{entry}/{manifest.data}", payload)
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

    def _commit(self, entry: str, token: str, manifest: Manifest, replace: bool) -> bool:
        target = f"{entry}/manifest.json"
        if not self._local:
            if not replace and self.fs.exists(target):
                return False
            self.fs.pipe_file(target, manifest.to_json())
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

    def delete(self, signature: str) -> None:
        entry = self._entry(signature)
        try:
            self.fs.rm_file(f"{entry}/manifest.json")
        except FileNotFoundError:
            return
        self.fs.rm(entry, recursive=True)

    # --- names ------------------------------------------------------------------------

    def pointer(self, name: str) -> Pointer | None:
        try:
            return Pointer.from_json(self.fs.cat_file(self._pointer_path(name)))
        except FileNotFoundError:
            return None
        except (ValueError, KeyError):
            return None  # a torn pointer is rewritten by the next call

    def set_pointer(self, name: str, signature: str) -> Pointer:
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

    def pointers(self) -> Iterator[Pointer]:
        base = f"{self.root}/names/"
        for path in sorted(self.fs.glob(f"{base}**.json")):
            try:
                yield Pointer.from_json(self.fs.cat_file(path))
            except (FileNotFoundError, ValueError, KeyError):
                continue

    # --- leftovers --------------------------------------------------------------------

    def leftovers(self) -> Iterator[Leftover]:
        cutoff = datetime.now(UTC) - LEFTOVER_GRACE
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
                if modified < cutoff:
                    yield Leftover(info["name"], int(info.get("size") or 0), modified)

    def remove_leftover(self, leftover: Leftover) -> None:
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
