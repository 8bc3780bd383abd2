"""Stores keep results by signature. ``open_store`` picks one from a URL."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from skipwise.errors import StoreError
from skipwise.store.base import CorruptEntry, Leftover, Manifest, Pointer, Store, validate_name
from skipwise.store.codecs import Codec, register_codec
from skipwise.store.filesystem import FilesystemStore

__all__ = [
    "Codec",
    "CorruptEntry",
    "FilesystemStore",
    "Leftover",
    "Manifest",
    "Pointer",
    "Store",
    "open_store",
    "register_codec",
    "validate_name",
]

_FILESYSTEM_SCHEMES = {"file", "memory", "s3", "s3a", "gs", "gcs", "az", "abfs"}


def open_store(
    url: str | os.PathLike[str], storage_options: Mapping[str, Any] | None = None
) -> Store:
    """A store for ``url``: a local path, ``file://``, ``memory://`` or another fsspec URL."""
    text = os.fspath(url)
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if not scheme:
        return FilesystemStore(str(Path(text).expanduser().resolve()), storage_options)
    if scheme in _FILESYSTEM_SCHEMES:
        return FilesystemStore(text, storage_options)
    raise StoreError(
        f"cannot open store {text}: unknown scheme {scheme!r} "
        f"(use a path or one of {', '.join(sorted(_FILESYSTEM_SCHEMES))})"
    )
