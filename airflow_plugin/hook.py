"""``SkipwiseHook``: the ``skipwise`` connection type, a store kept in an Airflow connection.

A ``skipwise`` connection names the store and where its credentials are, so that they live in
Airflow's connections (or its secrets backend) like every other credential::

    AIRFLOW_CONN_SKIPWISE_DEFAULT='{"conn_type": "skipwise",
        "extra": {"store": "s3://bucket/skipwise", "aws_conn_id": "aws_default"}}'

Extras: ``store`` (a store URL or path), ``aws_conn_id`` (an ``aws``-style connection: login =
access key id, password = secret key, extras ``endpoint_url``, ``region_name``,
``aws_session_token``), ``postgres_conn_id`` (a ``postgres``-style connection: host, port,
login, password, schema = database; its extras ``sslmode`` and friends are kept) with
``sql_schema`` (the PostgreSQL schema of the tables, default ``skipwise``), and
``storage_options`` (a JSON object for s3fs or SQLAlchemy's ``create_engine``). The
connection's password is the signing key of the store's pickled results.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow.sdk import BaseHook, Connection

from skipwise import StoreError
from skipwise.host import Store, StoreSpec, s3_options, sql_url

CONN_TYPE = "skipwise"
DEFAULT_CONN_ID = "skipwise_default"
# libpq parameters of a postgres connection's extras that belong in the SQLAlchemy URL.
_LIBPQ = ("sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout", "application_name")


class SkipwiseHook(BaseHook):
    """Opens the store a ``skipwise`` connection describes (see the module docstring)."""

    conn_name_attr = "skipwise_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = CONN_TYPE
    hook_name = "skipwise store"

    def __init__(self, skipwise_conn_id: str = DEFAULT_CONN_ID) -> None:
        super().__init__()
        self.skipwise_conn_id = skipwise_conn_id

    def get_conn(self) -> Store:
        return self.spec().open()

    def spec(self) -> StoreSpec:
        return connection_spec(self.get_connection(self.skipwise_conn_id))


def connection_spec(conn: Connection) -> StoreSpec:
    """The store a ``skipwise`` connection describes, credentials resolved."""
    where = f"connection {conn.conn_id!r}"
    if conn.conn_type != CONN_TYPE:
        raise StoreError(
            f"{where} has type {conn.conn_type!r}; a skipwise store needs a connection of type "
            f"{CONN_TYPE!r} (its extras name the store and the connection with its credentials)"
        )
    extra = conn.extra_dejson
    options = extra.get("storage_options") or {}
    if not isinstance(options, Mapping):
        raise StoreError(f"{where}: extra 'storage_options' must be a JSON object")
    url = extra.get("store")
    aws, postgres = extra.get("aws_conn_id"), extra.get("postgres_conn_id")
    if aws and postgres:
        raise StoreError(f"{where}: give aws_conn_id or postgres_conn_id, not both")
    if postgres:
        if url:
            raise StoreError(f"{where}: postgres_conn_id names the database; drop 'store'")
        url = _postgres_url(BaseHook.get_connection(postgres), extra.get("sql_schema"))
    if not url:
        raise StoreError(
            f"{where}: extra 'store' (a store URL or path) or 'postgres_conn_id' is required"
        )
    if aws:
        options = {**_aws_options(BaseHook.get_connection(aws)), **options}
    return StoreSpec(str(url), options, conn.password or None, where)


def _aws_options(conn: Connection) -> dict[str, Any]:
    extra = conn.extra_dejson
    s3_config = (extra.get("service_config") or {}).get("s3") or {}
    return s3_options(
        key=conn.login or extra.get("aws_access_key_id"),
        secret=conn.password or extra.get("aws_secret_access_key"),
        token=extra.get("aws_session_token"),
        endpoint_url=s3_config.get("endpoint_url") or extra.get("endpoint_url"),
        region=extra.get("region_name"),
    )


def _postgres_url(conn: Connection, schema: str | None) -> str:
    extra = conn.extra_dejson
    query = {k: str(extra[k]) for k in _LIBPQ if k in extra}
    return sql_url(
        host=conn.host,
        port=conn.port,
        database=conn.schema,  # Airflow's postgres connections keep the database here
        username=conn.login,
        password=conn.password,
        query=query if schema is None else {**query, "schema": str(schema)},
    )
