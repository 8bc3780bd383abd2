"""Stores keep results by signature. ``open_store`` picks one from a URL."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from skipwise.errors import StoreError
from skipwise.store import signing
from skipwise.store.base import CorruptEntry, Leftover, Manifest, Pointer, validate_name
from skipwise.store.codecs import Codec, register_codec
from skipwise.store.filesystem import FilesystemStore
from skipwise.store.protocol import Store

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
_SQL_SCHEMES = {"postgresql", "postgres", "sqlite"}


def open_store(
    url: str | os.PathLike[str],
    storage_options: Mapping[str, Any] | None = None,
    *,
    read_only: bool = False,
    signing_key: str | bytes | None = None,
) -> Store:
    """A store for ``url``: a local path, ``file://``, ``memory://``, ``s3://`` or another
    fsspec URL, ``postgresql://`` or ``sqlite:///`` (SQLAlchemy URLs).

    ``storage_options`` go to fsspec (e.g. ``endpoint_url``, ``key``) or to
    ``sqlalchemy.create_engine`` (plus ``schema`` on PostgreSQL). ``signing_key`` (default:
    ``$SKIPWISE_SIGNING_KEY``) signs and verifies manifests of pickled results.
    """
    text = os.fspath(url)
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    options = {
        "read_only": read_only,
        "signing_key": signing.key_from(signing_key or os.environ.get("SKIPWISE_SIGNING_KEY")),
    }
    if not scheme:
        return FilesystemStore(str(Path(text).expanduser().resolve()), storage_options, **options)
    if scheme in _FILESYSTEM_SCHEMES:
        return FilesystemStore(text, storage_options, **options)
    if scheme.partition("+")[0] in _SQL_SCHEMES:
        from skipwise.store.sql import SQLStore  # SQLAlchemy only for SQL stores

        return SQLStore(text, storage_options, **options)
    known = sorted(_FILESYSTEM_SCHEMES | _SQL_SCHEMES)
    raise StoreError(
        f"cannot open store {text}: unknown scheme {scheme!r} (use a path or one of "
        f"{', '.join(known)})"
    )
