"""Which store an Airflow task uses, from Airflow's own configuration, first match wins:

1. the task's ``store=``: a store URL or path, or the id of a ``skipwise`` connection;
2. the ``skipwise`` connection ``[skipwise] conn_id`` (default ``skipwise_default``, used only
   if it exists);
3. ``[skipwise] store`` in airflow.cfg (or ``AIRFLOW__SKIPWISE__STORE``);
4. ``$SKIPWISE_STORE``, else ``.skipwise/`` at the project root (skipwise's own default).

The signing key is the connection's password, else ``[skipwise] signing_key`` (a sensitive
option: ``signing_key_secret`` reads it from the secrets backend, ``signing_key_cmd`` from a
command), else ``$SKIPWISE_SIGNING_KEY``. Every secret of the chosen store (a password in its
URL, secret storage options, the key) is registered with Airflow's secrets masker before the
store is used, so task logs show ``***`` in its place.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

from airflow.sdk import Connection
from airflow.sdk.configuration import conf
from airflow.sdk.exceptions import AirflowNotFoundException

from skipwise import StoreError
from skipwise.airflow.hook import DEFAULT_CONN_ID, connection_spec
from skipwise.host import Store, StoreSpec, current_store, import_store_backend

SECTION = "skipwise"


class TaskStore(NamedTuple):
    store: Store
    conn_id: str | None  # the skipwise connection it came from, if any


def is_conn_id(option: str) -> bool:
    """A task's ``store=`` names a connection unless it looks like a URL or a path (holds
    ``://`` or ``/``, or starts with ``.`` or ``~``): ``store="./cache"`` is a folder."""
    return "://" not in option and "/" not in option and not option.startswith((".", "~"))


def task_store(option: str | None = None) -> TaskStore:
    """The store of a task whose ``store=`` is ``option`` (None: the configured one)."""
    spec, conn_id = _spec(option)
    if spec is None:
        return TaskStore(current_store(), None)
    _mask(spec)
    return TaskStore(spec.open(), conn_id)


def import_configured_backend() -> None:
    """Import the libraries of the store tasks use by default, found as a task finds it
    (connection, ``[skipwise] store``, ``$SKIPWISE_STORE``), without opening it: for a
    Celery worker, whose forked task processes then do not import them again. A task's own
    ``store=`` is not known here; its libraries are imported by the task that uses it."""
    spec, _ = _spec(None)
    import_store_backend(None if spec is None else spec.url)


def _spec(option: str | None) -> tuple[StoreSpec | None, str | None]:
    key = _option("signing_key")
    if option is not None and not is_conn_id(option):
        return StoreSpec(option, {}, key, "the task's store="), None
    if option is not None:
        conn = _connection(option)
        if conn is None:
            raise StoreError(
                f"store={option!r}: no Airflow connection {option!r} (a store path needs a '/' "
                "or a leading '.', e.g. './cache')"
            )
        return _with_key(connection_spec(conn), key), option
    conn_id = _option("conn_id")
    conn = _connection(conn_id or DEFAULT_CONN_ID)
    if conn is not None:
        return _with_key(connection_spec(conn), key), conn.conn_id
    if conn_id:
        raise StoreError(f"[{SECTION}] conn_id names connection {conn_id!r}, which does not exist")
    url = _option("store")
    if url:
        return StoreSpec(url, {}, key, f"[{SECTION}] store"), None
    return StoreSpec.configured(key), None


def _option(name: str) -> str | None:
    """``[skipwise] name``; a ``_cmd`` option's output ends with a newline, which goes."""
    value = conf.get(SECTION, name, fallback=None)
    return (value.strip() or None) if value else None


def _with_key(spec: StoreSpec, key: str | None) -> StoreSpec:
    """The connection's own key (its password) wins over ``[skipwise] signing_key``."""
    return spec if spec.signing_key or not key else dataclasses.replace(spec, signing_key=key)


def _connection(conn_id: str) -> Connection | None:
    try:
        return Connection.get(conn_id)
    except AirflowNotFoundException:
        return None


def _mask(spec: StoreSpec) -> None:
    from airflow.sdk.log import mask_secret  # tells the supervisor too, in a task

    for secret in spec.secrets():
        mask_secret(secret)
