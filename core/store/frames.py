"""DataFrames as real SQL tables: bulk written and read, checksummed as the database returns them.

A frame becomes a table only if every column has an exact SQL type, and the writer reads the
table back before committing: the checksum in the manifest is the digest of what a reader will
get, so precision the database would lose (nanoseconds, exotic types) sends the frame to a
Parquet blob instead of corrupting it. PostgreSQL is loaded and read with ``COPY`` (CSV made
and parsed by Arrow); other databases use ``executemany``.
"""

from __future__ import annotations

import base64
import io
import re
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import sqlalchemy as sa

from skipwise import hashing

ROW = "_skipwise_row"  # insertion order, so reads return rows in the order they were written
MAX_IDENTIFIER = 63  # PostgreSQL silently truncates longer identifiers
TABLE_PREFIX = "sw_"
TABLE_NAME = re.compile(rf"{TABLE_PREFIX}[a-z0-9_]*_[0-9a-f]{{16}}")
_BATCH_ROWS = 200_000


def identifier(name: str, limit: int) -> str:
    """A lowercase SQL identifier made from a result name."""
    text = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    return text[:limit].rstrip("_") or "result"


def table_name(name: str, signature: str) -> str:
    """Where a result's table lives: readable name plus a signature prefix."""
    return f"{TABLE_PREFIX}{identifier(name, 36)}_{signature[:16]}"


def view_name(name: str) -> str:
    """The view that shows a name's latest table; a hash keeps lossy spellings apart."""
    text = identifier(name, 50)
    if text != name or text.startswith((TABLE_PREFIX, "skipwise")):
        text = f"{text}_{hashing.digest_parts(['view', name])[:8]}"
    return text


def _sql_type(arrow_type: pa.DataType, postgres: bool) -> sa.types.TypeEngine[Any] | None:
    if pa.types.is_boolean(arrow_type):
        return sa.Boolean()
    if arrow_type in (pa.int8(), pa.int16(), pa.uint8()):
        return sa.SmallInteger()
    if arrow_type in (pa.int32(), pa.uint16()):
        return sa.Integer()
    if arrow_type in (pa.int64(), pa.uint32()):
        return sa.BigInteger()
    if arrow_type == pa.float32():
        return sa.REAL()
    if arrow_type == pa.float64():
        return sa.Double()
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return sa.Text()
    if pa.types.is_date32(arrow_type):
        return sa.Date() if postgres else sa.Text()
    if pa.types.is_timestamp(arrow_type):
        return sa.DateTime(timezone=arrow_type.tz is not None) if postgres else sa.Text()
    return None


# Codecs whose frames can become tables, and how each reads its frame back from Arrow.
TABLE_CODECS = ("pandas", "polars")


def layout(frame: Any) -> pa.Table | None:
    """``frame`` (pandas or polars) as Arrow if a SQL table can hold it, else None (it is
    stored as a blob)."""
    table = _arrow(frame)
    if table is None:
        return None
    names = table.column_names
    if len(set(names)) != len(names) or ROW in names:
        return None
    for fld in table.schema:
        if len(fld.name.encode()) > MAX_IDENTIFIER or "\x00" in fld.name:
            return None
        if _sql_type(fld.type, postgres=True) is None:
            return None
    return table


def _arrow(frame: Any) -> pa.Table | None:
    module = type(frame).__module__.partition(".")[0]
    if module == "polars":
        import polars as pl

        return frame.to_arrow() if isinstance(frame, pl.DataFrame) else None
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        return None
    try:
        return pa.Table.from_pandas(frame)
    except (pa.ArrowException, TypeError, ValueError):
        return None


def digest(table: pa.Table) -> tuple[str, int]:
    """Checksum and size of a table's values, independent of chunking, metadata and of the
    bytes Arrow leaves under null slots: each column is hashed as (values, nulls filled with a
    fixed value) plus its validity, in Arrow's IPC format."""
    arrays: list[pa.Array] = []
    names: list[str] = []
    for fld, column in zip(table.schema, table.combine_chunks().columns, strict=True):
        values = column.cast(_physical(fld.type))
        arrays += [pc.fill_null(values, _filler(values.type)), pc.is_valid(column)]
        names += [f"{fld.name}:{fld.type}", f"{fld.name}:valid"]
    sink = pa.BufferOutputStream()
    canonical = pa.Table.from_arrays(arrays, names=names).combine_chunks()
    with pa.ipc.new_stream(sink, canonical.schema) as writer:
        writer.write_table(canonical)
    data = sink.getvalue()
    return hashing.digest_bytes(data), data.size


def _physical(arrow_type: pa.DataType) -> pa.DataType:
    if pa.types.is_timestamp(arrow_type):
        return pa.int64()
    if pa.types.is_date32(arrow_type):
        return pa.int32()
    return arrow_type


def _filler(arrow_type: pa.DataType) -> pa.Scalar:
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return pa.scalar("", arrow_type)
    return pa.scalar(False if pa.types.is_boolean(arrow_type) else 0, arrow_type)


def schema_text(schema: pa.Schema) -> str:
    return base64.b64encode(schema.serialize().to_pybytes()).decode()


def schema_from_text(text: str) -> pa.Schema:
    return pa.ipc.read_schema(pa.py_buffer(base64.b64decode(text)))


def sql_table(
    name: str, schema: pa.Schema, db_schema: str | None, postgres: bool, *, numbered: bool = True
) -> sa.Table:
    """The SQLAlchemy table for a frame (identifiers are quoted by SQLAlchemy); without
    ``numbered``, its data columns only (what a lazy step's query reads)."""
    columns = [sa.Column(f.name, _sql_type(f.type, postgres)) for f in schema]
    row = [sa.Column(ROW, sa.BigInteger(), nullable=False)] if numbered else []
    return sa.Table(name, sa.MetaData(schema=db_schema), *columns, *row)


def write(conn: sa.Connection, table: sa.Table, data: pa.Table) -> None:
    """Bulk-load ``data`` into the (new, empty) ``table``."""
    data = data.append_column(ROW, pa.array(range(data.num_rows), pa.int64()))
    if conn.dialect.name == "postgresql":
        _copy_in(conn, table, data)
    else:
        _insert_many(conn, table, data)


def read(conn: sa.Connection, table: sa.Table, schema: pa.Schema) -> pa.Table:
    """The table's rows, in written order, typed by ``schema``."""
    if conn.dialect.name == "postgresql":
        return _copy_out(conn, table, schema)
    return _select_all(conn, table, schema)


def to_frame(data: pa.Table, schema: pa.Schema, codec: str) -> Any:
    """The DataFrame that was written: polars, or pandas (index, dtypes and column labels
    from its metadata)."""
    if codec == "polars":
        import polars as pl

        return pl.from_arrow(data)
    return data.replace_schema_metadata(schema.metadata).to_pandas()


def _quoted(conn: sa.Connection, table: sa.Table) -> tuple[str, str]:
    preparer = conn.dialect.identifier_preparer
    columns = ", ".join(preparer.quote(c.name) for c in table.columns if c.name != ROW)
    return preparer.format_table(table), columns


def _copy_in(conn: sa.Connection, table: sa.Table, data: pa.Table) -> None:
    target, columns = _quoted(conn, table)
    row = conn.dialect.identifier_preparer.quote(ROW)
    cursor = conn.connection.driver_connection.cursor()
    statement = f"COPY {target} ({columns}, {row}) FROM STDIN (FORMAT csv)"
    options = pcsv.WriteOptions(include_header=False)
    with cursor.copy(statement) as copy:
        for batch in data.to_batches(max_chunksize=_BATCH_ROWS):
            buffer = io.BytesIO()
            pcsv.write_csv(batch, buffer, options)
            copy.write(buffer.getbuffer())


def _copy_out(conn: sa.Connection, table: sa.Table, schema: pa.Schema) -> pa.Table:
    source, columns = _quoted(conn, table)
    row = conn.dialect.identifier_preparer.quote(ROW)
    cursor = conn.connection.driver_connection.cursor()
    statement = f"COPY (SELECT {columns} FROM {source} ORDER BY {row}) TO STDOUT (FORMAT csv)"
    raw = bytearray()
    with cursor.copy(statement) as copy:
        for chunk in copy:
            raw += chunk
    if not raw:
        return schema.empty_table()
    return pcsv.read_csv(
        pa.BufferReader(bytes(raw)),
        read_options=pcsv.ReadOptions(column_names=schema.names),
        convert_options=pcsv.ConvertOptions(
            column_types=schema,
            null_values=[""],
            true_values=["t"],
            false_values=["f"],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )


def _stored_type(arrow_type: pa.DataType) -> pa.DataType:
    """How a generic database (SQLite) holds a column: dates and timestamps as ISO text."""
    if pa.types.is_timestamp(arrow_type) or pa.types.is_date32(arrow_type):
        return pa.string()
    if pa.types.is_boolean(arrow_type):
        return pa.int64()
    return arrow_type


def _insert_many(conn: sa.Connection, table: sa.Table, data: pa.Table) -> None:
    target, columns = _quoted(conn, table)
    row = conn.dialect.identifier_preparer.quote(ROW)
    marks = ", ".join("?" * data.num_columns)
    statement = f"INSERT INTO {target} ({columns}, {row}) VALUES ({marks})"
    for batch in data.to_batches(max_chunksize=_BATCH_ROWS):
        values = [col.cast(_stored_type(col.type)).to_pylist() for col in batch.columns]
        conn.exec_driver_sql(statement, list(zip(*values, strict=True)))


def _select_all(conn: sa.Connection, table: sa.Table, schema: pa.Schema) -> pa.Table:
    source, columns = _quoted(conn, table)
    row = conn.dialect.identifier_preparer.quote(ROW)
    rows = conn.exec_driver_sql(f"SELECT {columns} FROM {source} ORDER BY {row}").all()
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in schema]
    arrays = [
        pa.array(values, _stored_type(fld.type)).cast(fld.type)
        for values, fld in zip(columns, schema, strict=True)
    ]
    return pa.Table.from_arrays(arrays, schema=schema.remove_metadata())


def made_schema(conn: sa.Connection, name: str, db_schema: str | None) -> pa.Schema:
    """The Arrow schema a reader gets for a table a query made (a lazy step's result), from
    the database's column types (SQLite: from the values' storage classes, since a column's
    declared type there is a hint). ``ValueError`` names a column no frame type can hold."""
    table = sa.Table(name, sa.MetaData(schema=db_schema), autoload_with=conn)
    columns = [c for c in table.columns if c.name != ROW]
    if conn.dialect.name == "sqlite":
        types = [_sqlite_type(conn, table, column) for column in columns]
    else:
        types = [_arrow_type(column) for column in columns]
    return pa.schema([pa.field(c.name, t) for c, t in zip(columns, types, strict=True)])


def _arrow_type(column: sa.Column[Any]) -> pa.DataType:
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return pa.bool_()
    if isinstance(kind, sa.SmallInteger):
        return pa.int16()
    if isinstance(kind, sa.BigInteger):
        return pa.int64()
    if isinstance(kind, sa.Integer):
        return pa.int32()
    if isinstance(kind, sa.REAL):
        return pa.float32()
    if isinstance(kind, sa.Float | sa.Numeric):  # NUMERIC is read as a float too
        return pa.float64()
    if isinstance(kind, sa.String):
        return pa.string()
    if isinstance(kind, sa.DateTime):
        return pa.timestamp("us", tz="UTC" if kind.timezone else None)
    if isinstance(kind, sa.Date):
        return pa.date32()
    raise ValueError(
        f"column {column.name!r} has type {kind}, which skipwise cannot read into a frame; "
        "cast it in the query (to a number, text, date or timestamp)"
    )


def _sqlite_type(conn: sa.Connection, table: sa.Table, column: sa.Column[Any]) -> pa.DataType:
    kinds = set(conn.scalars(sa.select(sa.func.typeof(column)).distinct())) - {"null"}
    if kinds <= {"integer"}:
        return pa.int64()
    if kinds <= {"integer", "real"}:
        return pa.float64()
    if kinds == {"text"}:
        return pa.string()
    raise ValueError(
        f"column {column.name!r} holds values of SQLite types {sorted(kinds)}, which no "
        "frame column holds together; cast it in the query"
    )
