"""The table type a step's body receives its inputs as (``input_type=``), whatever was stored.

A task that works in polars can take the results of a pandas task (and the other way round):
each table-like input (a pandas, polars or Arrow frame, or a stored result that loads as one)
is converted on the way in. Conversions go through Arrow, which shares buffers where the
libraries allow (Arrow to polars and back, numeric pandas columns without nulls); pandas
indexes other than a default range become columns. ``sa.Table`` is not a conversion: it names
the SQL table an upstream result is stored in, so the body can query it where it lives, and
nothing is loaded.

Types are recognised by their qualified names, so polars and SQLAlchemy are imported only by
steps that use them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from skipwise.errors import ArgumentError

PANDAS, POLARS, POLARS_LAZY, ARROW, SQL = "pandas", "polars", "polars-lazy", "arrow", "sql"

# Library -> (kind, class path) of its table types. A value's type is checked against the
# classes of its own library only, so no library is imported for another's values.
_TYPES = {
    "pandas": ((PANDAS, "pandas", "DataFrame"),),
    "polars": ((POLARS, "polars", "DataFrame"), (POLARS_LAZY, "polars", "LazyFrame")),
    "pyarrow": ((ARROW, "pyarrow", "Table"),),
    "sqlalchemy": ((SQL, "sqlalchemy", "Table"),),
}
KINDS = tuple(kind for kinds in _TYPES.values() for kind, _, _ in kinds)
SUPPORTED = "pd.DataFrame, pl.DataFrame, pl.LazyFrame, pa.Table or sa.Table"


def _kind_of_type(t: type) -> str | None:
    for kind, module, name in _TYPES.get(t.__module__.partition(".")[0], ()):
        if issubclass(t, getattr(importlib.import_module(module), name)):
            return kind
    return None


def kind_of(input_type: object, owner: str) -> str:
    """The kind ``input_type`` names (a type, or a kind's name such as ``"polars"``); a clear
    error naming ``owner`` for anything else."""
    if isinstance(input_type, str) and input_type in KINDS:
        return input_type
    kind = _kind_of_type(input_type) if isinstance(input_type, type) else None
    if kind is None:
        raise TypeError(f"{owner}: input_type={input_type!r} is not supported; use {SUPPORTED}")
    return kind


def table_kind(value: object) -> str | None:
    """The kind of a table-like value, or None for any other value (passed on unchanged)."""
    return _kind_of_type(type(value))


def convert(value: Any, kind: str) -> Any:
    """``value`` as ``kind`` (not ``SQL``: see :func:`prepare`) if it is a frame (pandas,
    polars, Arrow); else ``value``."""
    source = table_kind(value)
    if source is None or source in (SQL, kind):
        return value
    if source == POLARS_LAZY:
        value, source = value.collect(), POLARS
        if kind == POLARS:
            return value
    if kind in (POLARS, POLARS_LAZY):
        frame = _to_polars(value, source)
        return frame.lazy() if kind == POLARS_LAZY else frame
    arrow = _to_arrow(value, source)
    return arrow if kind == ARROW else arrow.to_pandas()


def _to_polars(value: Any, source: str) -> Any:
    import polars as pl

    if source == POLARS:
        return value
    # Arrow (from pandas, or as it is): zero-copy where the types allow.
    return pl.from_arrow(_to_arrow(value, source))


def _to_arrow(value: Any, source: str) -> Any:
    import pyarrow as pa

    if source == PANDAS:
        # A default RangeIndex stays metadata (dropped by polars); any other index is data.
        return pa.Table.from_pandas(value)
    if source == POLARS:
        return value.to_arrow()
    return value


def prepare(
    value: Any,
    kind: str,
    load: Callable[[Any], Any],
    table_of: Callable[[Any], Any | None],
    where: str,
) -> Any:
    """An argument as the body receives it: stored results loaded (``load`` loads a reference
    and returns any other value as it is) and every frame in it converted to ``kind``, also
    inside lists, tuples and dicts. For ``SQL``, ``table_of`` gives the table a stored result
    lives in (None: the value is no stored table); ``where`` names the argument in errors."""
    if type(value) in (list, tuple):
        items = (prepare(v, kind, load, table_of, f"{where}[{i}]") for i, v in enumerate(value))
        return type(value)(items)
    if type(value) is dict:
        return {k: prepare(v, kind, load, table_of, f"{where}[{k!r}]") for k, v in value.items()}
    if kind != SQL:
        return convert(load(value), kind)
    table = table_of(value)
    if table is not None:
        return table
    loaded = load(value)
    if table_kind(loaded) is None:
        return loaded  # a parameter, a path, a stored result that is no table
    raise ArgumentError(
        f"{where}: input_type=sa.Table needs a result stored as a table in a SQL store; this "
        "one is not (a value computed elsewhere, a blob, or another store)"
    )
