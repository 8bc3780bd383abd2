"""Stores keep results by signature. ``open_store`` picks one from a URL."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import fsspec

from skipwise import extras
from skipwise.errors import StoreError
from skipwise.store import s3
from skipwise.store.base import (
    CorruptEntry,
    Leftover,
    Manifest,
    OutsideStore,
    Pointer,
    Refused,
    validate_name,
)
from skipwise.store.codecs import Codec, register_codec
from skipwise.store.filesystem import FilesystemStore
from skipwise.store.protocol import Settings, Store

__all__ = [
    "Codec",
    "CorruptEntry",
    "FilesystemStore",
    "Leftover",
    "Manifest",
    "OutsideStore",
    "Pointer",
    "Refused",
    "Store",
    "import_backend",
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
    ``$SKIPWISE_SIGNING_KEY``) signs every manifest and refuses unsigned ones.
    """
    text = os.fspath(url)
    if not text.strip() or text != text.strip():
        raise StoreError(
            f"cannot open store {text!r}: a store URL or path is not blank and has no "
            "spaces around it"
        )
    scheme = _scheme(text)
    key = signing_key if signing_key is not None else os.environ.get("SKIPWISE_SIGNING_KEY")
    options: Settings = {"read_only": read_only, "signing_key": key}
    if not scheme:
        return FilesystemStore(_local_path(text), storage_options, **options)
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


def import_backend(url: str | os.PathLike[str]) -> None:
    """Import the libraries the store at ``url`` needs (s3fs, SQLAlchemy and its driver),
    without opening it: no connection, no request.

    Importing s3fs and aiobotocore costs about a second of CPU per process. A process that
    forks the processes running tasks (a Celery worker: Airflow runs every task instance in a
    fork of it) calls this once, so no task imports them again; for S3 it also loads
    botocore's descriptions of S3 once (:mod:`skipwise.store.s3`).
    """
    text = os.fspath(url)
    scheme = _scheme(text)
    try:
        if scheme in _FILESYSTEM_SCHEMES:
            fsspec.get_filesystem_class(scheme)
            if scheme in s3.S3_SCHEMES:
                s3.prepare()
        elif scheme.partition("+")[0] in _SQL_SCHEMES:
            from skipwise.store.sql import import_driver

            import_driver(text)
    except ImportError as exc:
        raise StoreError(f"cannot use store {text}: {extras.hint(exc) or exc}") from exc


def _scheme(text: str) -> str:
    """A URL's scheme, lower case; "" for a path."""
    return text.split("://", 1)[0].lower() if "://" in text else ""


def _local_path(text: str) -> str:
    """A local store's folder, absolute, with ``~`` expanded."""
    try:
        return str(Path(text).expanduser().resolve())
    except (RuntimeError, ValueError, OSError) as exc:  # ~nosuchuser, a NUL byte, a loop
        raise StoreError(f"cannot open store {text!r}: {exc}") from None
