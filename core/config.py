"""Process-wide settings: which store, whether pickle may be loaded, where user code ends,
which pipeline instance runs."""

from __future__ import annotations

import contextlib
import contextvars
import functools
import json
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from skipwise import extras
from skipwise.boundary import Boundary
from skipwise.errors import SkipwiseError, StoreError
from skipwise.instances import Instance, named
from skipwise.store import Store, import_backend, open_store
from skipwise.store.protocol import LEASE_POLICIES, LEASE_TTL

DEFAULT_STORE = ".skipwise"
# A folder holding one of these is a project root: the default store is kept there.
PROJECT_MARKERS = ("pyproject.toml", "setup.cfg", ".git")
_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    store: str | Store | None = None  # None: $SKIPWISE_STORE, else .skipwise/ at the project root
    storage_options: Mapping[str, Any] = field(default_factory=dict)
    allow_pickle: bool = False
    external: tuple[str, ...] = ()
    track_packages: bool = False
    read_only: bool | None = None  # None: $SKIPWISE_READ_ONLY
    on_store_error: str | None = None  # "raise" | "compute"; None: $SKIPWISE_ON_STORE_ERROR
    signing_key: str | bytes | None = None  # None: $SKIPWISE_SIGNING_KEY
    on_lease_held: str | None = None  # "wait" | "compute" | "fail"; None: $SKIPWISE_ON_LEASE_HELD
    lease_ttl: float | None = None  # seconds; None: $SKIPWISE_LEASE_TTL, else LEASE_TTL
    instance: Instance | None = None  # None: $SKIPWISE_INSTANCE, else the unnamed instance


_lock = threading.Lock()
_settings = Settings()
_store: tuple[tuple[Any, ...], Store] | None = None  # (what it was opened for, the store)
_STORE_ERROR_POLICIES = ("raise", "compute")
_boundary: Boundary | None = None
# Stores opened by opened_store(), by what they were opened for; the oldest goes first.
_opened: dict[tuple[Any, ...], Store] = {}
_OPENED_LIMIT = 16
# The instance a host chose for the run at hand (an Airflow param, a Dagster resource): it
# wins over the process-wide setting, in this thread or task only.
_run_instance: contextvars.ContextVar[Instance | None] = contextvars.ContextVar(
    "skipwise_instance", default=None
)


def configure(
    *,
    store: str | os.PathLike[str] | Store | None = None,
    storage_options: Mapping[str, Any] | None = None,
    allow_pickle: bool | None = None,
    external: Sequence[str] | None = None,
    track_packages: bool | None = None,
    read_only: bool | None = None,
    on_store_error: Literal["raise", "compute"] | None = None,
    signing_key: str | bytes | None = None,
    on_lease_held: Literal["wait", "compute", "fail"] | None = None,
    lease_ttl: float | None = None,
    instance: str | Instance | None = None,
) -> None:
    """Set process-wide options; arguments left as None keep their current value.

    ``external`` lists module prefixes to treat as third-party code even if they live outside
    site-packages (an editable install of a library you do not want in signatures).
    ``track_packages`` puts installed package versions into signatures.
    ``read_only`` serves hits but never writes (a production cache shared with developers).
    ``on_store_error="compute"`` runs functions uncached when the store cannot be used,
    instead of raising. ``signing_key`` signs pickled results (required on shared stores).
    ``on_lease_held`` says what a call does while another process computes the same
    signature: "wait" for its result (the default), "compute" anyway, or "fail";
    ``lease_ttl`` is how many seconds a holder that stopped renewing its lease (killed,
    stalled) keeps it. ``instance`` is the pipeline instance results are named in (a name,
    e.g. ``"mini"`` or ``"mini_{user}"``, or a :class:`skipwise.Instance`; ``""`` goes back to
    the unnamed one).
    """
    global _settings, _store, _boundary
    if on_store_error is not None and on_store_error not in _STORE_ERROR_POLICIES:
        raise SkipwiseError(
            f"on_store_error must be one of {_STORE_ERROR_POLICIES}, got {on_store_error!r}"
        )
    if on_lease_held is not None:
        lease_policy(on_lease_held)
    if lease_ttl is not None:
        _positive_seconds(lease_ttl, "lease_ttl")
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
    if read_only is not None:
        changes["read_only"] = bool(read_only)
    if on_store_error is not None:
        changes["on_store_error"] = on_store_error
    if signing_key is not None:
        changes["signing_key"] = signing_key
    if on_lease_held is not None:
        changes["on_lease_held"] = on_lease_held
    if lease_ttl is not None:
        changes["lease_ttl"] = float(lease_ttl)
    if instance is not None:
        changes["instance"] = named(instance, "instance") if instance != "" else None
    with _lock:
        _settings = replace(_settings, **changes)
        if {"store", "storage_options", "read_only", "signing_key"} & changes.keys():
            _store = None
        if {"external", "track_packages"} & changes.keys():
            _boundary = None


def settings() -> Settings:
    return _settings


def instance() -> Instance | None:
    """The pipeline instance a call runs in (None: the unnamed one): the one a host chose for
    this run (:func:`using_instance`), else ``configure(instance=...)``, else
    ``$SKIPWISE_INSTANCE``. The one place this is decided."""
    chosen = _run_instance.get() or _settings.instance
    if chosen is not None:
        return chosen
    text = os.environ.get("SKIPWISE_INSTANCE", "")
    return named(text, "SKIPWISE_INSTANCE") if text else None


def instance_name() -> str:
    """The current instance's name as pointers and schemas use it ("" for the unnamed one)."""
    current = instance()
    return current.key if current is not None else ""


@contextlib.contextmanager
def using_instance(given: str | Instance | None, where: str = "instance") -> Iterator[None]:
    """Run the block in instance ``given`` (None or "": the configured one): how a host
    applies an instance chosen per run. ``where`` names the setting in errors."""
    token = _run_instance.set(named(given, where) if given else None)
    try:
        yield
    finally:
        _run_instance.reset(token)


def allow_pickle() -> bool:
    return _settings.allow_pickle or os.environ.get("SKIPWISE_ALLOW_PICKLE", "").lower() in _TRUE


def read_only() -> bool:
    if _settings.read_only is not None:
        return _settings.read_only
    return os.environ.get("SKIPWISE_READ_ONLY", "").lower() in _TRUE


def quiet() -> bool:
    """``$SKIPWISE_QUIET``: no line per cached call, no status line (warnings still show)."""
    return os.environ.get("SKIPWISE_QUIET", "").lower() in _TRUE


def on_store_error() -> str:
    """What a cached call does when its store cannot be used: "raise" or "compute"."""
    policy = _settings.on_store_error or os.environ.get("SKIPWISE_ON_STORE_ERROR") or "raise"
    if policy not in _STORE_ERROR_POLICIES:
        raise SkipwiseError(
            f"SKIPWISE_ON_STORE_ERROR must be one of {_STORE_ERROR_POLICIES}, got {policy!r}"
        )
    return policy


def lease_policy(given: str | None = None) -> str:
    """What a call does while another computes its signature: ``given`` (a step's option),
    else the configured policy, else ``$SKIPWISE_ON_LEASE_HELD``, else "wait"."""
    where = "on_lease_held"
    if given is None:
        given = _settings.on_lease_held
    if given is None:
        given, where = os.environ.get("SKIPWISE_ON_LEASE_HELD") or "wait", "SKIPWISE_ON_LEASE_HELD"
    if given not in LEASE_POLICIES:
        raise SkipwiseError(f"{where} must be one of {LEASE_POLICIES}, got {given!r}")
    return given


def lease_ttl() -> float:
    """Seconds a lease outlives its holder's last heartbeat."""
    if _settings.lease_ttl is not None:
        return _settings.lease_ttl
    text = os.environ.get("SKIPWISE_LEASE_TTL")
    return LEASE_TTL if not text else _positive_seconds(text, "SKIPWISE_LEASE_TTL")


def _positive_seconds(value: object, where: str) -> float:
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        seconds = float("nan")
    if not seconds > 0 or seconds == float("inf"):
        raise SkipwiseError(f"{where} must be a positive number of seconds, got {value!r}")
    return seconds


def store_url() -> str:
    configured = _settings.store
    if isinstance(configured, Store):
        return configured.url
    return configured or os.environ.get("SKIPWISE_STORE") or default_store()


def store_origin() -> str:
    """Where :func:`store_url` comes from, in words (``skipwise ls`` prints it)."""
    if _settings.store is not None:
        return "configured"
    if os.environ.get("SKIPWISE_STORE"):
        return "from $SKIPWISE_STORE"
    return f"the default: {DEFAULT_STORE}/ at the project root"


def default_store() -> str:
    """``.skipwise/`` at the project root, so that every folder of a project shares it."""
    return str(project_root(Path.cwd()) / DEFAULT_STORE)


@functools.lru_cache(maxsize=16)
def project_root(folder: Path) -> Path:
    """The nearest folder at or above ``folder`` holding ``pyproject.toml``, ``setup.cfg`` or
    ``.git``; ``folder`` itself if there is none."""
    for candidate in (folder, *folder.parents):
        if any((candidate / marker).exists() for marker in PROJECT_MARKERS):
            return candidate
    return folder


def current_store() -> Store:
    """The configured store, opened on first use."""
    global _store
    configured = _settings.store
    if isinstance(configured, Store):
        return configured
    url = store_url()
    key = _settings.signing_key
    key = os.environ.get("SKIPWISE_SIGNING_KEY") if key is None else key
    opened_for = (url, read_only(), key)
    with _lock:
        if _store is None or _store[0] != opened_for:
            _store = (opened_for, _open(url, _settings.storage_options, key))
        return _store[1]


def opened_store(
    url: str,
    storage_options: Mapping[str, Any] | None = None,
    *,
    signing_key: str | bytes | None = None,
) -> Store:
    """The store at ``url`` with these options, opened once per process: hosts that pick a
    store per task (an Airflow connection, a Dagster resource) share one filesystem or
    connection pool per store. ``signing_key`` None means ``$SKIPWISE_SIGNING_KEY``."""
    options = dict(storage_options or {})
    key = os.environ.get("SKIPWISE_SIGNING_KEY") if signing_key is None else signing_key
    opened_for = (url, json.dumps(options, sort_keys=True, default=repr), key, read_only())
    with _lock:
        store = _opened.pop(opened_for, None)
        if store is None:
            store = _open(url, options, key)
        _opened[opened_for] = store  # most recently used last
        while len(_opened) > _OPENED_LIMIT:
            del _opened[next(iter(_opened))]
        return store


def _open(url: str, storage_options: Mapping[str, Any], key: str | bytes | None) -> Store:
    try:
        return open_store(url, storage_options, read_only=read_only(), signing_key=key)
    except (ImportError, StoreError) as exc:
        hint = extras.hint(exc)
        if hint is None:
            raise
        raise StoreError(f"cannot open store {url}: {hint}") from exc


def import_store_backend(url: str | None = None) -> None:
    """Import the libraries of the store at ``url`` (default: the configured store) now,
    without opening it (see :func:`skipwise.store.import_backend`): for processes that fork
    task processes."""
    if url is not None:
        import_backend(url)
    elif not isinstance(_settings.store, Store):
        import_backend(store_url())


def boundary() -> Boundary:
    global _boundary
    with _lock:
        if _boundary is None:
            _boundary = Boundary(_settings.external, _settings.track_packages)
        return _boundary
