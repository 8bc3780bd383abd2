"""Process-wide settings: which store, whether pickle may be loaded, where user code ends."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from skipwise.codegraph import Boundary
from skipwise.store import Store, open_store

DEFAULT_STORE = ".skipwise"
_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    store: str | Store | None = None  # None: $SKIPWISE_STORE, else ./.skipwise
    storage_options: Mapping[str, Any] = field(default_factory=dict)
    allow_pickle: bool = False
    external: tuple[str, ...] = ()
    track_packages: bool = False


_lock = threading.Lock()
_settings = Settings()
_store: tuple[str, Store] | None = None  # (the URL it was opened for, the store)
_boundary: Boundary | None = None


def configure(
    *,
    store: str | os.PathLike[str] | Store | None = None,
    storage_options: Mapping[str, Any] | None = None,
    allow_pickle: bool | None = None,
    external: Sequence[str] | None = None,
    track_packages: bool | None = None,
) -> None:
    """Set process-wide options; arguments left as None keep their current value.

    ``external`` lists module prefixes to treat as third-party code even if they live outside
    site-packages (an editable install of a library you do not want in signatures).
    ``track_packages`` puts installed package versions into signatures.
    """
    global _settings, _store, _boundary
    changes: dict[str, Any] = {}
    if store is not None:
        changes["store"] = store if isinstance(store, Store) else os.fspath(store)
    if storage_options is not None:
        changes["storage_options"] = dict(storage_options)
    if allow_pickle is not None:
        changes["allow_pickle"] = bool(allow_pickle)
    if external is not None:
        changes["external"] = tuple(external)
    if track_packages is not None:
        changes["track_packages"] = bool(track_packages)
    with _lock:
        _settings = replace(_settings, **changes)
        if {"store", "storage_options"} & changes.keys():
            _store = None
        if {"external", "track_packages"} & changes.keys():
            _boundary = None


def settings() -> Settings:
    return _settings


def allow_pickle() -> bool:
    return _settings.allow_pickle or os.environ.get("SKIPWISE_ALLOW_PICKLE", "").lower() in _TRUE


def store_url() -> str:
    configured = _settings.store
    if isinstance(configured, Store):
        return configured.url
    return configured or os.environ.get("SKIPWISE_STORE") or DEFAULT_STORE


def current_store() -> Store:
    """The configured store, opened on first use."""
    global _store
    configured = _settings.store
    if isinstance(configured, Store):
        return configured
    url = store_url()
    with _lock:
        if _store is None or _store[0] != url:
            _store = (url, open_store(url, _settings.storage_options))
        return _store[1]


def boundary() -> Boundary:
    global _boundary
    with _lock:
        if _boundary is None:
            _boundary = Boundary(_settings.external, _settings.track_packages)
        return _boundary
