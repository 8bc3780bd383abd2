"""A store in a SQL database (PostgreSQL, SQLite) through SQLAlchemy 2.

Schema (in schema ``skipwise`` on PostgreSQL, or ``?schema=NAME``; the main database on
SQLite)::

    skipwise_manifests(signature PK, name, created_at, body JSON text, tree JSON text)
    skipwise_blobs(signature PK, data)            encoded non-table results
    skipwise_names(name PK, signature, body, view) pointers, and the view each one owns
    skipwise_leases(signature PK, body)            who is computing a signature (a lease)
    sw_<name>_<sig[:16]>                            a DataFrame result as a real table
    <name>                                          view of a name's latest table
    <instance>[_<stage>].<leaf>                     the same, for a named instance (PostgreSQL)
    <instance>[_<stage>]__<leaf>                    the same, for a named instance (SQLite)

A named instance's views are in a schema of their own per instance and stage (a name's part
before its last ``.``): ``mini.features``, ``full_taxi.trips``; the tables they show are the
content-addressed ones, shared by every instance whose result has that signature. SQLite has
no schemas, and a view in an attached database cannot read a table in another one, so there
the schema becomes a prefix (instance names never hold ``__``).

A result's data and its manifest are written in one transaction, so the manifest-last rule
becomes all-or-nothing: a writer killed midway leaves nothing visible, not even a table.
Writers of one signature are serialised (an advisory lock on PostgreSQL, ``BEGIN IMMEDIATE`` on
SQLite); the second finds the first one's entry and keeps it. A pointer is replaced by a
compare-and-set on its stored JSON (an UPDATE matching the body read), which also moves the views.
A lease is a row, created by an INSERT that does nothing if one is there, replaced or removed by
an UPDATE or DELETE matching the body read: a row rather than an advisory lock, since holders are
other processes and hosts and an advisory lock would need a connection held while a body runs.

A busy SQLite database or a connection the server dropped is a passing failure (``_transient``):
the protocol tries the whole operation again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Unpack

import sqlalchemy as sa
from sqlalchemy import event

from skipwise import hashing
from skipwise.errors import QueryFailed, StoreError
from skipwise.store import frames
from skipwise.store.base import (
    TARGET,
    CorruptEntry,
    Leftover,
    Manifest,
    Pointer,
    Query,
    split_pointer_key,
)
from skipwise.store.codecs import Codec
from skipwise.store.primitives import Fetched, Raw, checksum_of
from skipwise.store.protocol import Settings, Store

BLOB = "blob"  # Manifest.data of results kept in skipwise_blobs
TREE = "tree"  # Manifest.tree: the tree column of the entry's skipwise_manifests row
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


@dataclasses.dataclass
class _Write:
    """A write transaction. The signature tree is a column of the manifest row, so it waits
    here for the commit."""

    conn: sa.Connection
    tree: str | None = None


class SQLStore(Store[_Write]):
    transactional = True

    def __init__(
        self,
        url: str,
        options: Mapping[str, Any] | None = None,
        **settings: Unpack[Settings],
    ):
        parsed = parse_url(url)
        super().__init__(parsed.render_as_string(hide_password=False), **settings)
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
        self._leases = sa.Table(
            "skipwise_leases",
            meta,
            sa.Column("signature", sa.String(64), primary_key=True),
            sa.Column("body", sa.Text, nullable=False),
        )
        self._meta = meta

    def __repr__(self) -> str:
        return f"SQLStore({self.url!r})"

    # --- connections ------------------------------------------------------------------

    def _db(self) -> sa.Engine:
        """The engine of this process: a forked worker must not reuse its parent's sockets."""
        if self._engine is None or self._pid != os.getpid():
            self._engine = self._create_engine()
            self._pid = os.getpid()
        return self._engine

    def _create_engine(self) -> sa.Engine:
        options = dict(self._engine_options)
        # A connection the server dropped (restart, network cut) is replaced, not reused.
        options.setdefault("pool_pre_ping", True)
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
        """Create the tables if missing: a database that only lets us read (a replica, a
        read-only role or file) still serves what it has."""
        with self._db().connect() as conn:
            present = set(sa.inspect(conn).get_table_names(self.schema))
        if present >= {table.name for table in self._meta.sorted_tables}:
            return
        if self.read_only:  # leases are for writers: a store made before them still serves
            if present >= {self._manifests.name, self._blobs.name, self._names.name}:
                return
            raise StoreError(f"store {self.url} has no skipwise tables (read-only)")
        with self._transaction(lock="setup") as conn:
            if self.schema:
                conn.execute(sa.schema.CreateSchema(self.schema, if_not_exists=True))
            self._meta.create_all(conn)

    def _transient(self, exc: BaseException | None) -> bool:
        error = (exc.orig or exc) if isinstance(exc, sa.exc.DBAPIError) else exc
        if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
            return True  # the server dropped the connection: the pool replaces it
        text = str(error).lower()
        return not self.postgres and ("database is locked" in text or "is busy" in text)

    def _transport_error(self, exc: Exception) -> str | None:
        # The driver's own errors too: bulk COPY talks to psycopg directly.
        error = (exc.orig or exc) if isinstance(exc, sa.exc.DBAPIError) else exc
        if isinstance(error, sa.exc.DBAPIError | self._db().dialect.loaded_dbapi.Error):
            cause = str(error).strip().splitlines()[0]
            return f"{type(error).__name__}: {cause}"
        return super()._transport_error(exc)

    # --- reading ----------------------------------------------------------------------

    def _where(self, signature: str, item: str | None = None) -> str:
        if item is None:
            return f"{self.url} manifest {signature}"
        return f"{self.url} blob {signature}" if item == BLOB else f"{self.url} table {item}"

    def _owns(self, manifest: Manifest) -> bool:
        # A blob is found by signature; a table's name ends with its entry's signature.
        return manifest.tree == TREE and (
            manifest.data == BLOB
            or (
                bool(frames.TABLE_NAME.fullmatch(manifest.data))
                and manifest.data.endswith(f"_{manifest.signature[:16]}")
            )
        )

    def _scalar(self, query: sa.Select[Any], session: _Write | None = None) -> Any:
        """One value, read in the write session if there is one."""
        if session is not None:
            return session.conn.scalar(query)
        with self._db().connect() as conn:
            return conn.scalar(query)

    def _find_committed(self, signatures: set[str]) -> set[str]:
        wanted = sorted(signatures)
        found: set[str] = set()
        column = self._manifests.c.signature
        with self._db().connect() as conn:
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                found.update(conn.scalars(sa.select(column).where(column.in_(chunk))))
        return found

    def _read_manifest(self, signature: str, session: _Write | None = None) -> Raw | None:
        column = self._manifests.c
        return self._scalar(sa.select(column.body).where(column.signature == signature), session)

    def _rows(self, query: sa.Select[Any]) -> list[tuple[str, Raw]]:
        with self._db().connect() as conn:
            return [(key, body) for key, body in conn.execute(query)]

    def _list_manifests(self) -> list[tuple[str, Raw]]:
        column = self._manifests.c
        return self._rows(sa.select(column.signature, column.body).order_by(column.signature))

    def _read_data(self, manifest: Manifest, codec: Codec) -> Fetched | None:
        if manifest.data == BLOB:
            column = self._blobs.c
            data = self._scalar(
                sa.select(column.data).where(column.signature == manifest.signature)
            )
            return None if data is None else Fetched.of(bytes(data), codec)
        with self._db().connect() as conn:
            return self._read_table(conn, manifest)

    def _read_table(self, conn: sa.Connection, manifest: Manifest) -> Fetched | None:
        import pyarrow as pa

        try:
            schema = frames.schema_from_text(manifest.extra["schema"])
        except (KeyError, TypeError, ValueError, pa.ArrowException) as exc:
            raise CorruptEntry(f"manifest of {manifest.signature} has no usable schema") from exc
        where = self._where(manifest.signature, manifest.data)
        try:
            columns = sa.inspect(conn).get_columns(manifest.data, self.schema)
        except sa.exc.NoSuchTableError:
            return None
        table = frames.sql_table(manifest.data, schema, self.schema, self.postgres)
        if [c["name"] for c in columns] != [c.name for c in table.columns]:
            raise CorruptEntry(f"data of {manifest.signature} at {where}: its columns changed")
        try:
            data = frames.read(conn, table, schema)
        except (pa.ArrowException, ValueError, TypeError) as exc:
            raise CorruptEntry(f"data of {manifest.signature} at {where} is unreadable") from exc
        checksum, size = frames.digest(data)
        return Fetched(checksum, size, lambda: frames.to_frame(data, schema, manifest.codec))

    def _read_tree(self, manifest: Manifest) -> Raw | None:
        column = self._manifests.c
        return self._scalar(sa.select(column.tree).where(column.signature == manifest.signature))

    def _read_pointer(self, key: str, session: _Write | None = None) -> Raw | None:
        column = self._names.c
        return self._scalar(sa.select(column.body).where(column.name == key), session)

    def _list_pointers(self) -> list[tuple[str, Raw]]:
        column = self._names.c
        return self._rows(sa.select(column.name, column.body).order_by(column.name))

    def _list_leftovers(self) -> Iterator[Leftover]:
        """Result tables no manifest refers to. An entry whose manifest cannot be read keeps
        its tables (their names end with its signature's first 16 digits). Tables are listed
        before manifests, so a table committed meanwhile is never listed."""
        now = datetime.now(UTC)
        with self._db().connect() as conn:
            names = sa.inspect(conn).get_table_names(self.schema)
        tables = {t for t in names if frames.TABLE_NAME.fullmatch(t)}
        referenced: set[str] = set()
        for signature, body in self._list_manifests():
            try:
                referenced.add(self._parsed(signature, body).data)
            except CorruptEntry:
                referenced.update(t for t in tables if t.endswith(signature[:16]))
        for table in sorted(tables - referenced):
            yield Leftover(table, 0, now)

    # --- writing ----------------------------------------------------------------------

    @contextlib.contextmanager
    def _writing(self, key: str) -> Iterator[_Write]:
        with self._transaction(lock=key) as conn:
            yield _Write(conn)

    def _put_data(self, session: _Write, draft: Manifest, codec: Codec, value: Any) -> Manifest:
        # Data is kept by signature, not by writer: an entry being replaced goes first.
        self._remove(session, draft.signature)
        arrow = frames.layout(value) if codec.name in frames.TABLE_CODECS else None
        if arrow is not None:
            try:
                with session.conn.begin_nested():
                    return self._put_table(session.conn, draft, arrow)
            except _NotExact:
                pass  # the savepoint took the table back
        payload = codec.encode(value)
        session.conn.execute(
            sa.insert(self._blobs), {"signature": draft.signature, "data": payload}
        )
        checksum, size = checksum_of(payload)
        return dataclasses.replace(draft, data=BLOB, tree=TREE, checksum=checksum, size=size)

    def _put_table(self, conn: sa.Connection, draft: Manifest, arrow: Any) -> Manifest:
        checksum, size = frames.digest(arrow)
        name = frames.table_name(draft.name, draft.signature)
        table = frames.sql_table(name, arrow.schema, self.schema, self.postgres)
        table.drop(conn, checkfirst=True)  # an orphan of an entry deleted by hand
        table.create(conn)
        frames.write(conn, table, arrow)
        if frames.digest(frames.read(conn, table, arrow.schema)) != (checksum, size):
            raise _NotExact
        return _table_entry(draft, name, checksum, size, arrow.schema)

    # --- lazy steps: queries run in the database ----------------------------------------

    def _sql_dialect(self) -> sa.Dialect:
        return self._db().dialect

    def _sql_table(self, manifest: Manifest) -> sa.Table | None:
        if not frames.TABLE_NAME.fullmatch(manifest.data):
            return None
        try:
            schema = frames.schema_from_text(manifest.extra["schema"])
        except (KeyError, TypeError, ValueError) as exc:
            raise CorruptEntry(f"manifest of {manifest.signature} has no usable schema") from exc
        return frames.sql_table(manifest.data, schema, self.schema, self.postgres, numbered=False)

    def _put_query(self, session: _Write, draft: Manifest, query: Query) -> Manifest:
        """``CREATE TABLE ... AS`` the query's rows, numbered in the order the database
        returns them (a ``_skipwise_row`` column of the query's is left out); then the table
        is read back once for its schema and checksum (the manifest's, which every reader
        checks)."""
        self._remove(session, draft.signature)
        conn = session.conn
        name = frames.table_name(draft.name, draft.signature)
        self._drop_table(conn, name)  # an orphan of an entry deleted by hand
        row = conn.dialect.identifier_preparer.quote(frames.ROW)
        try:
            source = query.select
            if source is None:  # a script fills a scratch table; its rows are then numbered
                scratch = self._qualified(conn, f"{name}_new")
                conn.exec_driver_sql(f"DROP TABLE IF EXISTS {scratch}")
                for statement in query.script:
                    conn.exec_driver_sql(_literal(conn, statement).replace(TARGET, scratch))
                source = f"SELECT * FROM {scratch}"
            # Its columns, from a run that returns no rows; an upstream's row numbers (which
            # ``SELECT *`` over it brings along) give way to the new table's.
            with conn.exec_driver_sql(f"SELECT * FROM ({source}) AS q LIMIT 0") as probe:
                names = list(probe.keys())
            quote = conn.dialect.identifier_preparer.quote
            columns = "".join(f"q.{quote(c)}, " for c in names if c != frames.ROW)
            conn.exec_driver_sql(
                f"CREATE TABLE {self._qualified(conn, name)} AS "
                f"SELECT {columns}row_number() OVER () AS {row} FROM ({source}) AS q"
            )
            if query.select is None:
                conn.exec_driver_sql(f"DROP TABLE {scratch}")
            schema = frames.made_schema(conn, name, self.schema)
            table = frames.sql_table(name, schema, self.schema, self.postgres)
            data = frames.read(conn, table, schema)
        except sa.exc.DBAPIError as exc:
            if self._transient(exc):
                raise
            cause = str(exc.orig or exc).strip().splitlines()[0]
            raise QueryFailed(
                f"{query.what}: its query failed in store {self.url}: {cause} (nothing was stored)"
            ) from exc
        except (ValueError, sa.exc.NoSuchTableError) as exc:
            raise QueryFailed(
                f"{query.what}: the table its query made in store {self.url} cannot be kept: "
                f"{exc} (nothing was stored)"
            ) from exc
        checksum, size = frames.digest(data)
        return _table_entry(draft, name, checksum, size, schema)

    def _put_tree(self, session: _Write, manifest: Manifest, tree: str) -> None:
        session.tree = tree

    def _commit(self, session: _Write, manifest: Manifest, replace: bool) -> bool:
        # A replaced entry is already gone (see _put_data): inserting is all replacing needs.
        row = {
            "signature": manifest.signature,
            "name": manifest.name,
            "created_at": manifest.created_at,
            "body": manifest.to_json().decode(),
            "tree": session.tree,
        }
        if not self._insert_new(session.conn, self._manifests, row):
            return False
        self._refresh_views(session.conn, manifest)
        return True

    def _insert_new(self, conn: sa.Connection, table: sa.Table, row: Mapping[str, Any]) -> bool:
        """Insert ``row`` unless its key is taken; whether it was inserted. Told by RETURNING:
        psycopg reports no row count (-1) for ``INSERT ... ON CONFLICT DO NOTHING``."""
        from sqlalchemy.dialects import postgresql, sqlite

        insert = (postgresql.insert if self.postgres else sqlite.insert)(table)
        statement = insert.on_conflict_do_nothing().returning(*table.primary_key.columns)
        return conn.execute(statement, dict(row)).first() is not None

    def _delete_manifest(self, session: _Write, signature: str) -> bool:
        column = self._names.c
        for view in session.conn.scalars(
            sa.select(column.view).where(column.signature == signature, column.view.is_not(None))
        ):
            self._drop_view(session.conn, view)
        deleted = session.conn.execute(
            sa.delete(self._manifests).where(self._manifests.c.signature == signature)
        )
        return bool(deleted.rowcount)

    def _delete_data(self, session: _Write, signature: str, manifest: Manifest | None) -> None:
        session.conn.execute(sa.delete(self._blobs).where(self._blobs.c.signature == signature))
        if manifest is not None and frames.TABLE_NAME.fullmatch(manifest.data):
            self._drop_table(session.conn, manifest.data)

    def _drop_table(self, conn: sa.Connection, name: str) -> None:
        sa.Table(name, sa.MetaData(schema=self.schema)).drop(conn, checkfirst=True)

    def _remove_leftover(self, leftover: Leftover) -> None:
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

    # --- leases -----------------------------------------------------------------------

    def _read_lease(self, signature: str) -> Raw | None:
        column = self._leases.c
        return self._scalar(sa.select(column.body).where(column.signature == signature))

    def _swap_lease(self, signature: str, expected: Raw | None, record: bytes | None) -> bool:
        column = self._leases.c
        matching = (column.signature == signature, column.body == _text(expected or ""))
        with self._transaction() as conn:
            if record is None:
                return bool(conn.execute(sa.delete(self._leases).where(*matching)).rowcount)
            if expected is None:
                return self._insert_new(
                    conn, self._leases, {"signature": signature, "body": record.decode()}
                )
            update = sa.update(self._leases).where(*matching).values(body=record.decode())
            return bool(conn.execute(update).rowcount)

    # --- names and views ----------------------------------------------------------------

    def _swap_pointer(
        self, session: _Write, key: str, expected: Raw | None, pointer: Pointer
    ) -> bool:
        conn, column = session.conn, self._names.c
        old_view = conn.scalar(sa.select(column.view).where(column.name == key))
        row = {"signature": pointer.signature, "body": pointer.to_json().decode(), "view": None}
        if expected is None:
            swapped = self._insert_new(conn, self._names, {"name": key, **row})
        else:
            update = (
                sa.update(self._names)
                .where(column.name == key, column.body == expected)
                .values(**row)
            )
            swapped = bool(conn.execute(update).rowcount)
        if not swapped:
            return False
        if old_view:
            self._drop_view(conn, old_view)
        self._refresh_views(conn, self._committed_or_none(pointer.signature, session))
        return True

    def _refresh_views(self, conn: sa.Connection, manifest: Manifest | None) -> None:
        """Point the views of every name whose latest result is ``manifest``'s at its table."""
        if manifest is None or not frames.TABLE_NAME.fullmatch(manifest.data):
            return
        column = self._names.c
        owners = conn.execute(
            sa.select(column.name, column.view).where(column.signature == manifest.signature)
        ).all()
        if not owners:
            return
        inspector = sa.inspect(conn)
        taken: dict[str | None, set[str]] = {}
        schema = frames.schema_from_text(manifest.extra["schema"])
        table = frames.sql_table(manifest.data, schema, self.schema, self.postgres)
        quote = conn.dialect.identifier_preparer.quote
        columns = ", ".join(quote(c.name) for c in table.columns if c.name != frames.ROW)
        source = conn.dialect.identifier_preparer.format_table(table)
        for key, view in owners:
            wanted = view or self._view_for(key)
            where, bare = self._view_parts(wanted)
            if where not in taken:
                present = where in inspector.get_schema_names() if where else True
                taken[where] = (
                    set(inspector.get_table_names(where)) | set(inspector.get_view_names(where))
                    if present
                    else set()
                )
            if bare in taken[where] and wanted != view:
                continue  # someone else's table or view: never replaced
            if where is not None and where != self.schema:
                conn.execute(sa.schema.CreateSchema(where, if_not_exists=True))
            self._drop_view(conn, wanted)
            conn.exec_driver_sql(
                f"CREATE VIEW {self._qualified(conn, wanted)} AS SELECT {columns} FROM {source}"
            )
            conn.execute(sa.update(self._names).where(column.name == key).values(view=wanted))

    def _view_for(self, key: str) -> str:
        """Where a pointer's view goes (as the ``view`` column keeps it): a view of the name
        in the store's schema for the unnamed instance; for a named one, its leaf in the
        schema ``<instance>`` or ``<instance>_<stage>`` (``<schema>.<leaf>``), or on SQLite,
        which has no schemas, ``<schema>__<leaf>`` in the database."""
        instance, name = split_pointer_key(key)
        if not instance:
            return frames.view_name(name)
        head, slash, tail = name.partition("/")
        stage, _, leaf = head.rpartition(".")
        schema = f"{instance}_{frames.identifier(stage, 30)}" if stage else instance
        view = frames.view_name(leaf + slash + tail)
        return f"{schema}.{view}" if self.postgres else f"{schema}__{view}"

    def _view_parts(self, view: str) -> tuple[str | None, str]:
        """(schema, view name) of a ``view`` column's value: a bare name is in the store's
        schema."""
        where, dot, bare = view.rpartition(".")
        return (where, bare) if dot else (self.schema, view)

    def _qualified(self, conn: sa.Connection, view: str) -> str:
        quote = conn.dialect.identifier_preparer.quote
        where, bare = self._view_parts(view)
        return f"{quote(where)}.{quote(bare)}" if where else quote(bare)

    def _drop_view(self, conn: sa.Connection, view: str) -> None:
        conn.exec_driver_sql(f"DROP VIEW IF EXISTS {self._qualified(conn, view)}")


def parse_url(url: str) -> sa.URL:
    """``url`` as SQLAlchemy reads it; a bare ``postgresql://`` uses psycopg 3."""
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise StoreError(f"cannot open store {url}: {exc}") from None
    except ValueError as exc:  # the one thing SQLAlchemy converts: the port
        raise StoreError(f"cannot open store {url}: the port is not a number ({exc})") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def import_driver(url: str) -> None:
    """Import the SQLAlchemy dialect of ``url`` and its driver (psycopg, sqlite3), without
    connecting."""
    parse_url(url).get_dialect().import_dbapi()


def _literal(conn: sa.Connection, statement: str) -> str:
    """A user's SQL text as the driver must be given it: drivers with ``%s`` placeholders
    (psycopg) read a single ``%`` as one."""
    if conn.dialect.paramstyle in ("format", "pyformat"):
        return statement.replace("%", "%%")
    return statement


def _text(raw: Raw) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


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


def _table_entry(draft: Manifest, table: str, checksum: str, size: int, schema: Any) -> Manifest:
    """``draft`` completed for a result kept as the table ``table`` of this Arrow schema."""
    return dataclasses.replace(
        draft,
        data=table,
        tree=TREE,
        checksum=checksum,
        size=size,
        extra={"schema": frames.schema_text(schema)},
    )
