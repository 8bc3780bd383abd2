"""Lazy steps: a body that returns a query, which the store runs in its database on a miss.

A lazy step (``lazy=True``) receives its upstream results as SQLAlchemy ``Table``s naming the
tables they are stored in, and returns a query: a ``Select``/``TextClause`` (any select), or a
:class:`RawSql` script that fills the table skipwise names for it. The body runs while the step
is signed (building a query is cheap) and the compiled SQL enters the signature, with upstream
tables spelled by parameter name: the SQL a step runs is what it is signed by, and an upstream
recomputed to the same content (same checksum, new table) still counts as unchanged. On a miss
the store runs the query (:meth:`skipwise.store.Store.save_query`); on a hit nothing runs in
the database. The result is a ``Ref`` to the new table: a lazy step downstream reads it as a
table, any other step loads it as a DataFrame.
"""

from __future__ import annotations

import inspect
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from skipwise.engine import Ref, lineage_of
from skipwise.errors import SkipwiseError
from skipwise.store import Store
from skipwise.store.base import TARGET, Query

# The signature tree's ``extra`` entry that holds a lazy step's SQL, as signed.
SQL = "sql"


class UpstreamMissing(SkipwiseError):
    """An upstream result a lazy step's query reads is not stored (yet): no query can name
    its table. ``skipwise plan`` meets this before the upstream's first run."""


class RawSql:
    """A SQL script whose statements fill the result's table: write ``{target}`` where the
    table goes (``CREATE TABLE {target} AS SELECT ...``, then ``UPDATE {target} ...``).
    Statements are separated by ``;`` (split as SQLite's tokenizer does: quotes and comments
    are respected); upstream tables are the ``Table``s the step receives, e.g. in f-strings."""

    def __init__(self, script: str) -> None:
        if not isinstance(script, str):
            raise TypeError(f"RawSql takes the script as a string, got {type(script).__name__}")
        self.statements = _statements(script)
        if not any(TARGET in statement for statement in self.statements):
            raise ValueError(f"RawSql script never writes {TARGET}, the result's table")

    def __repr__(self) -> str:
        return f"RawSql({'; '.join(self.statements)!r})"


def _statements(script: str) -> tuple[str, ...]:
    statements: list[str] = []
    current = ""
    for piece in script.split(";"):
        current += piece + ";"
        if sqlite3.complete_statement(current):
            statements.append(current.strip().rstrip(";").strip())
            current = ""
    if current.strip(" \t\r\n;"):
        statements.append(current.strip().rstrip(";").strip())
    return tuple(s for s in statements if s)


@dataclass(frozen=True)
class Prepared:
    """A lazy step's query: as the store runs it, and as it is signed."""

    query: Query
    signed: str


def prepare(
    name: str, fn: Callable[..., Any], bound: inspect.BoundArguments, store: Store
) -> Prepared:
    """Run the body of lazy step ``name`` on ``bound`` arguments, upstream results given as
    tables of ``store``, and compile the query it returns for the store's database."""
    dialect = store.sql_dialect()
    if dialect is None:
        raise SkipwiseError(
            f"{name}: lazy=True needs a SQL store (SQLite or PostgreSQL), where its query runs; "
            f"store {store.url} is not one"
        )
    tables: dict[str, Any] = {}
    arguments = bound.arguments
    for param, value in list(arguments.items()):
        table = _upstream_table(name, param, value, store)
        if table is not None:
            tables[param] = arguments[param] = table
    result = fn(*bound.args, **bound.kwargs)
    query, text = _compiled(name, result, dialect)
    signed = text
    for param, table in sorted(tables.items()):
        # Qualified first: the bare name is part of it.
        for spelling in (dialect.identifier_preparer.format_table(table), table.name):
            signed = signed.replace(spelling, f"{{{param}}}")
    return Prepared(query, signed)


def _upstream_table(name: str, param: str, value: Any, store: Store) -> Any:
    """The table an upstream result is stored in, or None if ``value`` is no stored result."""
    lineage = lineage_of(value)
    if lineage is None:
        return None
    source = value.store if isinstance(value, Ref) else None  # a Ref may name its store
    where = f"{name}: the upstream result passed as {param!r} ({lineage.signature[:12]})"
    if source is not None and source.url != store.url:
        raise SkipwiseError(
            f"{where} is in store {source.url}; a lazy step's query runs in its own store "
            f"{store.url}, so its inputs must be stored there"
        )
    if lineage.item is not None:
        raise SkipwiseError(f"{where} is one item of a result; a lazy step reads whole tables")
    manifest = store.manifest(lineage.signature)
    if manifest is None:
        raise UpstreamMissing(f"{where} is not in store {store.url}")
    table = store.sql_table(manifest)
    if table is None:
        raise SkipwiseError(
            f"{where} is stored as an encoded value, not as a table; a lazy step reads "
            "tables: DataFrames whose columns are numbers, text, booleans, dates or timestamps"
        )
    return table


def _compiled(name: str, result: Any, dialect: Any) -> tuple[Query, str]:
    """The query as the store runs it, and its SQL text."""
    import sqlalchemy as sa
    from sqlalchemy.sql.expression import SelectBase

    if isinstance(result, RawSql):
        return Query(name, script=result.statements), ";\n".join(result.statements)
    if not isinstance(result, SelectBase | sa.TextClause):
        raise SkipwiseError(
            f"{name}: a lazy step returns a query: a SQLAlchemy Select or TextClause, or "
            f"skipwise.RawSql; it returned {type(result).__module__}.{type(result).__qualname__}"
        )
    try:
        compiled = result.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
    except sa.exc.SQLAlchemyError as exc:
        raise SkipwiseError(
            f"{name}: its query cannot be compiled for {dialect.name}: {exc}"
        ) from None
    text = str(compiled).strip().rstrip(";").strip()
    return Query(name, select=text), text
