"""A store in a SQL database (PostgreSQL, SQLite) through SQLAlchemy 2.

Schema (in schema ``skipwise`` on PostgreSQL, or ``?schema=NAME``; the main database on
SQLite)::

    skipwise_manifests(signature PK, name, created_at, body JSON text, tree JSON text)
    skipwise_blobs(signature PK, data)            encoded non-table results
    skipwise_names(name PK, signature, body, view) pointers, and the view each one owns
    sw_<name>_<sig[:16]>                            a DataFrame result as a real table
    <name>                                          view of a name's latest table

A result's data and its manifest are written in one transaction, so the manifest-last rule
becomes all-or-nothing: a writer killed midway leaves nothing visible, not even a table.
Writers of one signature are serialised (an advisory lock on PostgreSQL, ``BEGIN IMMEDIATE`` on
SQLite); the second finds the first one's entry and keeps it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from skipwise import hashing
from skipwise.errors import StoreError
from skipwise.store import frames
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
from skipwise.store.codecs import get_codec

BLOB = "blob"  # Manifest.data of results kept in skipwise_blobs
_SCHEMA = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_CHUNK = 500  # signatures per IN (...) query
# Session settings that make COPY output (and so checksums) the same for every reader.
_PG_SESSION = (
    "SET TimeZone TO 'UTC'",
    "SET DateStyle TO 'ISO, YMD'",
    "SET extra_float_digits TO 1",
)


class _NotExact(Exception):
    """The database would not give the frame back bit for bit: store it as a blob."""


class SQLStore(Store):
    def __init__(
        self,
        url: str,
        options: Mapping[str, Any] | None = None,
        *,
        read_only: bool = False,
        signing_key: bytes | None = None,
    ):
        try:
            parsed = sa.make_url(url)
        except sa.exc.ArgumentError as exc:
            raise StoreError(f"cannot open store {url}: {exc}") from None
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        self.url = parsed.render_as_string(hide_password=True)
        self.read_only = read_only
        self.signing_key = signing_key
        self.postgres = parsed.get_backend_name() == "postgresql"
        # ?schema=NAME picks the PostgreSQL schema; it is ours, not a connection parameter.
        schema = parsed.query.get("schema", "skipwise" if self.postgres else None)
        if schema is not None and (not self.postgres or not _SCHEMA.fullmatch(str(schema))):
            raise StoreError(
                f"cannot open store {self.url}: schema= takes a lowercase identifier "
                "(PostgreSQL only)"
            )
        self.schema: str | None = schema
        self._target = parsed.difference_update_query(["schema"])
        self._engine_options = dict(options or {})
        self._engine: sa.Engine | None = None
        self._pid = 0
        meta = sa.MetaData(schema=self.schema)
        self._manifests = sa.Table(
            "skipwise_manifests",
            meta,
            sa.Column("signature", sa.String(64), primary_key=True),
            sa.Column("name", sa.Text, nullable=False),
            sa.Column("created_at", sa.Text, nullable=False),
            sa.Column("body", sa.Text, nullable=False),
            sa.Column("tree", sa.Text),
        )
        self._blobs = sa.Table(
            "skipwise_blobs",
            meta,
            sa.Column("signature", sa.String(64), primary_key=True),
            sa.Column("data", sa.LargeBinary, nullable=False),
        )
        self._names = sa.Table(
            "skipwise_names",
            meta,
            sa.Column("name", sa.Text, primary_key=True),
            sa.Column("signature", sa.String(64), nullable=False),
            sa.Column("body", sa.Text, nullable=False),
            sa.Column("view", sa.Text),
        )
        self._meta = meta

    def __repr__(self) -> str:
        return f"SQLStore({self.url!r})"

    @property
    def shared(self) -> bool:
        return self.postgres

    # --- connections ------------------------------------------------------------------

    def _db(self) -> sa.Engine:
        """The engine of this process: a forked worker must not reuse its parent's sockets."""
        if self._engine is None or self._pid != os.getpid():
            self._engine = self._create_engine()
            self._pid = os.getpid()
        return self._engine

    def _create_engine(self) -> sa.Engine:
        options = dict(self._engine_options)
        if not self.postgres:
            options.setdefault("connect_args", {}).setdefault("timeout", 60)
        try:
            engine = sa.create_engine(self._target, **options)
        except (sa.exc.ArgumentError, ImportError, TypeError) as exc:
            raise StoreError(f"cannot open store {self.url}: {exc}") from None
        if self.postgres:
            event.listen(engine, "connect", _postgres_session)
        else:
            event.listen(engine, "connect", _sqlite_session)
            event.listen(engine, "begin", _sqlite_begin)
        return engine

    @contextlib.contextmanager
    def _transaction(self, lock: str | None = None) -> Iterator[sa.Connection]:
        """A write transaction; ``lock`` serialises writers of one key (SQLite: all writers)."""
        with self._db().connect().execution_options(skipwise_write=True) as conn, conn.begin():
            if lock is not None and self.postgres:
                key = int(hashing.digest_parts(["skipwise-lock", lock])[:15], 16)
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
            yield conn

    def _check(self) -> None:
        if self.read_only:
            with self._db().connect() as conn:
                if not sa.inspect(conn).has_table(self._manifests.name, self.schema):
                    raise StoreError(f"store {self.url} has no skipwise tables (read-only)")
            return
        with self._transaction(lock="setup") as conn:
            if self.schema:
                conn.execute(sa.schema.CreateSchema(self.schema, if_not_exists=True))
            self._meta.create_all(conn)

    def _transport_error(self, exc: Exception) -> str | None:
        if isinstance(exc, sa.exc.DBAPIError):
            cause = str(exc.orig or exc).strip().splitlines()[0]
            return f"{type(exc.orig or exc).__name__}: {cause}"
        return super()._transport_error(exc)

    # --- reading ----------------------------------------------------------------------

    def _committed(self, conn: sa.Connection, signature: str) -> Manifest | None:
        body = conn.scalar(
            sa.select(self._manifests.c.body).where(self._manifests.c.signature == signature)
        )
        if body is None:
            return None
        manifest = Manifest.from_json(body, f"{self.url} manifest {signature}")
        if manifest.signature != signature:
            raise CorruptEntry(f"manifest of {signature} in {self.url} is for {manifest.signature}")
        return manifest

    @store_operation
    def exists_many(self, signatures: Iterable[str]) -> set[str]:
        wanted = sorted({validate_signature(s) for s in signatures})
        found: set[str] = set()
        column = self._manifests.c.signature
        with self._db().connect() as conn:
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                found.update(conn.scalars(sa.select(column).where(column.in_(chunk))))
        return found

    @store_operation
    def manifest(self, signature: str) -> Manifest | None:
        validate_signature(signature)
        with self._db().connect() as conn:
            return self._committed(conn, signature)

    @store_operation
    def load(self, manifest: Manifest) -> Any:
        self._verify(manifest)
        with self._db().connect() as conn:
            if manifest.data == BLOB:
                return self._load_blob(conn, manifest)
            return self._load_table(conn, manifest)

    def _load_blob(self, conn: sa.Connection, manifest: Manifest) -> Any:
        column = self._blobs.c
        data = conn.scalar(sa.select(column.data).where(column.signature == manifest.signature))
        where = f"{self.url} blob {manifest.signature}"
        if data is None:
            raise CorruptEntry(f"data of {manifest.signature} is missing at {where}")
        if len(data) != manifest.size or hashing.digest_bytes(data) != manifest.checksum:
            raise CorruptEntry(f"data of {manifest.signature} at {where} fails its checksum")
        return get_codec(manifest.codec).decode(bytes(data))

    def _load_table(self, conn: sa.Connection, manifest: Manifest) -> Any:
        import pyarrow as pa

        where = f"{self.url} table {manifest.data}"
        try:
            schema = frames.schema_from_text(manifest.extra["schema"])
        except (KeyError, TypeError, ValueError, pa.ArrowException) as exc:
            raise CorruptEntry(f"manifest of {manifest.signature} has no usable schema") from exc
        if not sa.inspect(conn).has_table(manifest.data, self.schema):
            raise CorruptEntry(f"data of {manifest.signature} is missing at {where}")
        table = frames.sql_table(manifest.data, schema, self.schema, self.postgres)
        try:
            data = frames.read(conn, table, schema)
        except (pa.ArrowException, ValueError) as exc:
            raise CorruptEntry(f"data of {manifest.signature} at {where} is unreadable") from exc
        if frames.digest(data) != (manifest.checksum, manifest.size):
            raise CorruptEntry(f"data of {manifest.signature} at {where} fails its checksum")
        return frames.to_frame(data, schema)

    @store_operation
    def tree(self, manifest: Manifest) -> dict[str, Any] | None:
        column = self._manifests.c
        with self._db().connect() as conn:
            raw = conn.scalar(sa.select(column.tree).where(column.signature == manifest.signature))
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return None

    @store_operation
    def manifests(self) -> Iterator[Manifest]:
        column = self._manifests.c
        with self._db().connect() as conn:
            rows = conn.execute(sa.select(column.signature, column.body).order_by(column.signature))
            bodies = rows.all()
        for signature, body in bodies:
            try:
                yield Manifest.from_json(body, f"{self.url} manifest {signature}")
            except CorruptEntry:
                continue

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
        chosen = get_codec(codec)
        record = draft_manifest(
            signature, name=name, codec=chosen.name, producer=producer, data=BLOB, tree="tree"
        )
        tree_json = json.dumps(tree)
        arrow = frames.layout(value) if chosen.name == "pandas" else None
        if arrow is not None:
            try:
                return self._save_table(record, arrow, tree_json, replace)
            except _NotExact:
                pass
        payload = chosen.encode(value)
        manifest = self._seal(
            dataclasses.replace(record, checksum=hashing.digest_bytes(payload), size=len(payload))
        )
        with self._transaction(lock=signature) as conn:
            existing = self._committed_or_none(conn, signature)
            if existing is not None and not replace:
                return existing
            self._drop_data(conn, signature, existing)
            conn.execute(sa.insert(self._blobs), {"signature": signature, "data": payload})
            self._commit(conn, manifest, tree_json)
        return manifest

    def _save_table(self, record: Manifest, arrow: Any, tree_json: str, replace: bool) -> Manifest:
        checksum, size = frames.digest(arrow)
        name = frames.table_name(record.name, record.signature)
        manifest = self._seal(
            dataclasses.replace(
                record,
                data=name,
                checksum=checksum,
                size=size,
                extra={"schema": frames.schema_text(arrow.schema)},
            )
        )
        table = frames.sql_table(name, arrow.schema, self.schema, self.postgres)
        with self._transaction(lock=record.signature) as conn:
            existing = self._committed_or_none(conn, record.signature)
            if existing is not None and not replace:
                return existing
            self._drop_data(conn, record.signature, existing)
            table.drop(conn, checkfirst=True)  # an orphan of an entry deleted by hand
            table.create(conn)
            frames.write(conn, table, arrow)
            if frames.digest(frames.read(conn, table, arrow.schema)) != (checksum, size):
                raise _NotExact  # rolls the table back
            self._commit(conn, manifest, tree_json)
        return manifest

    def _committed_or_none(self, conn: sa.Connection, signature: str) -> Manifest | None:
        """The committed entry; an unreadable one counts as absent (it is being replaced)."""
        try:
            return self._committed(conn, signature)
        except CorruptEntry:
            return None

    def _commit(self, conn: sa.Connection, manifest: Manifest, tree_json: str) -> None:
        conn.execute(
            sa.insert(self._manifests),
            {
                "signature": manifest.signature,
                "name": manifest.name,
                "created_at": manifest.created_at,
                "body": manifest.to_json().decode(),
                "tree": tree_json,
            },
        )
        self._refresh_views(conn, manifest.signature)

    def _drop_data(self, conn: sa.Connection, signature: str, manifest: Manifest | None) -> None:
        """Remove an entry's manifest and data (and views on its table) in ``conn``'s transaction."""
        column = self._names.c
        for view in conn.scalars(
            sa.select(column.view).where(column.signature == signature, column.view.is_not(None))
        ):
            self._drop_view(conn, view)
        conn.execute(sa.delete(self._manifests).where(self._manifests.c.signature == signature))
        conn.execute(sa.delete(self._blobs).where(self._blobs.c.signature == signature))
        if manifest is not None and frames.TABLE_NAME.fullmatch(manifest.data):
            self._drop_table(conn, manifest.data)

    def _drop_table(self, conn: sa.Connection, name: str) -> None:
        sa.Table(name, sa.MetaData(schema=self.schema)).drop(conn, checkfirst=True)

    @store_operation
    def delete(self, signature: str) -> None:
        self._writable()
        validate_signature(signature)
        with self._transaction(lock=signature) as conn:
            try:
                manifest = self._committed(conn, signature)
            except CorruptEntry:
                manifest = None
            self._drop_data(conn, signature, manifest)

    # --- names and views ----------------------------------------------------------------

    @store_operation
    def pointer(self, name: str) -> Pointer | None:
        validate_name(name)
        with self._db().connect() as conn:
            return self._pointer(conn, name)

    def _pointer(self, conn: sa.Connection, name: str) -> Pointer | None:
        body = conn.scalar(sa.select(self._names.c.body).where(self._names.c.name == name))
        try:
            return Pointer.from_json(body) if body else None
        except (ValueError, KeyError):
            return None  # a damaged pointer is rewritten by the next call

    @store_operation
    def set_pointer(self, name: str, signature: str) -> Pointer:
        self._writable()
        validate_name(name)
        validate_signature(signature)
        with self._transaction(lock=f"name:{name}") as conn:
            current = self._pointer(conn, name)
            pointer = (
                current.advanced(signature)
                if current
                else Pointer(name=name, signature=signature, updated_at=utc_now())
            )
            old_view = conn.scalar(sa.select(self._names.c.view).where(self._names.c.name == name))
            if old_view:
                self._drop_view(conn, old_view)
            conn.execute(sa.delete(self._names).where(self._names.c.name == name))
            row = {"name": name, "signature": signature, "body": pointer.to_json().decode()}
            conn.execute(sa.insert(self._names), {**row, "view": None})
            self._refresh_views(conn, signature)
        return pointer

    def _refresh_views(self, conn: sa.Connection, signature: str) -> None:
        """Point the views of every name whose latest result is ``signature`` at its table."""
        column = self._names.c
        owners = conn.execute(
            sa.select(column.name, column.view).where(column.signature == signature)
        ).all()
        manifest = self._committed_or_none(conn, signature)
        if not owners or manifest is None or not frames.TABLE_NAME.fullmatch(manifest.data):
            return
        inspector = sa.inspect(conn)
        taken = set(inspector.get_table_names(self.schema)) | set(
            inspector.get_view_names(self.schema)
        )
        schema = frames.schema_from_text(manifest.extra["schema"])
        table = frames.sql_table(manifest.data, schema, self.schema, self.postgres)
        quote = conn.dialect.identifier_preparer.quote
        columns = ", ".join(quote(c.name) for c in table.columns if c.name != frames.ROW)
        source = conn.dialect.identifier_preparer.format_table(table)
        for name, view in owners:
            wanted = view or frames.view_name(name)
            if wanted in taken and wanted != view:
                continue  # someone else's table or view: never replaced
            self._drop_view(conn, wanted)
            conn.exec_driver_sql(
                f"CREATE VIEW {self._qualified(conn, wanted)} AS SELECT {columns} FROM {source}"
            )
            conn.execute(sa.update(self._names).where(column.name == name).values(view=wanted))

    def _qualified(self, conn: sa.Connection, name: str) -> str:
        quote = conn.dialect.identifier_preparer.quote
        return f"{quote(self.schema)}.{quote(name)}" if self.schema else quote(name)

    def _drop_view(self, conn: sa.Connection, view: str) -> None:
        conn.exec_driver_sql(f"DROP VIEW IF EXISTS {self._qualified(conn, view)}")

    @store_operation
    def pointers(self) -> Iterator[Pointer]:
        column = self._names.c
        with self._db().connect() as conn:
            bodies = conn.scalars(sa.select(column.body).order_by(column.name)).all()
        for body in bodies:
            try:
                yield Pointer.from_json(body)
            except (ValueError, KeyError):
                continue

    # --- leftovers ----------------------------------------------------------------------

    @store_operation
    def leftovers(self, older_than: timedelta = LEFTOVER_GRACE) -> Iterator[Leftover]:
        """Result tables and blobs no manifest refers to. Uncommitted writes are invisible to
        other sessions, so whatever is listed here is done with: ``older_than`` is not needed.
        Tables are listed before manifests, so a table committed meanwhile is never listed."""
        now = datetime.now(UTC)
        with self._db().connect() as conn:
            tables = [
                t
                for t in sa.inspect(conn).get_table_names(self.schema)
                if frames.TABLE_NAME.fullmatch(t)
            ]
            used = set(conn.scalars(sa.select(self._manifests.c.body)))
        referenced = {json.loads(body).get("data") for body in used}
        for table in sorted(set(tables) - referenced):
            yield Leftover(table, 0, now)

    @store_operation
    def remove_leftover(self, leftover: Leftover) -> None:
        self._writable()
        if not frames.TABLE_NAME.fullmatch(leftover.path):
            raise StoreError(f"store {self.url}: {leftover.path!r} is not a skipwise table")
        with self._transaction(lock=f"table:{leftover.path}") as conn:
            in_use = conn.scalar(
                sa.select(sa.func.count()).where(
                    self._manifests.c.body.contains(json.dumps(leftover.path))
                )
            )
            if not in_use:
                self._drop_table(conn, leftover.path)


def _postgres_session(dbapi_connection: Any, _record: Any) -> None:
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True
    with dbapi_connection.cursor() as cursor:
        for statement in _PG_SESSION:
            cursor.execute(statement)
    dbapi_connection.autocommit = autocommit


def _sqlite_session(dbapi_connection: Any, _record: Any) -> None:
    # skipwise issues BEGIN itself (see _sqlite_begin), so DDL is transactional too.
    dbapi_connection.isolation_level = None
    dbapi_connection.execute("PRAGMA journal_mode=WAL")


def _sqlite_begin(conn: sa.Connection) -> None:
    # Writers take the write lock up front: no deadlock when two readers both try to write.
    write = conn.get_execution_options().get("skipwise_write")
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
