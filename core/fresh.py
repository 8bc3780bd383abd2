"""Fresh external inputs: ``fresh=`` tells how new a source outside skipwise's view is.

A task that reads a production table, a bucket or a folder skipwise does not manage declares
a cheap function whose result says how fresh that source is (``SELECT count(*), max(...)``, a
listing of ETags, a folder's names and contents). Its value enters the signature as a named
part (``fresh:<name>`` in the tree's ``extra``), so a fresher source is a miss whose reason
is "input <name> is fresher", and ``skipwise plan`` says so without running the task. The
functions run every time the step is signed (each run, each plan): they must be cheap.

``fresh=`` takes a function, a list of functions, or a dict naming them. A function's name is
its ``name`` property (the helpers here have one) or its ``__name__``.
"""

from __future__ import annotations

import functools
import inspect
import os
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from skipwise import inputs
from skipwise.errors import SkipwiseError

# The prefix of a fresh input's part in a signature tree's ``extra``.
PREFIX = "fresh:"

FreshFunctions = tuple[tuple[str, Callable[[], Any]], ...]


class FreshError(SkipwiseError):
    """A fresh function failed or returned what cannot be signed; the message names the task
    and the function."""


def named(fresh: object, owner: str) -> FreshFunctions:
    """``fresh=`` as (name, function) pairs, sorted by name; a clear error naming ``owner``
    for anything that is not a function, a list of them or a dict of them."""
    if fresh is None:
        return ()
    if isinstance(fresh, Mapping):
        pairs = [(str(key), fn) for key, fn in fresh.items()]
    elif callable(fresh):
        pairs = [(_name(fresh), fresh)]
    elif isinstance(fresh, list | tuple):
        pairs = [(_name(fn), fn) for fn in fresh]
    else:
        raise TypeError(
            f"{owner}: fresh= takes a function, a list of functions or a dict of them; got "
            f"{type(fresh).__qualname__}"
        )
    for name, fn in pairs:
        if not callable(fn):
            raise TypeError(f"{owner}: fresh function {name!r} is not callable: {fn!r}")
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names):
        raise TypeError(
            f"{owner}: two fresh functions are named alike ({sorted(names)}): name them with a dict"
        )
    return tuple(sorted(pairs, key=lambda pair: pair[0]))


def _name(fn: object) -> str:
    """A helper's ``name`` property (looked up on the type: asking the object may run its
    code), a function's name, or the class name of another callable."""
    if isinstance(inspect.getattr_static(type(fn), "name", None), property):
        return str(fn.name)  # type: ignore[attr-defined]
    if isinstance(fn, types.FunctionType | types.MethodType | types.BuiltinFunctionType):
        return fn.__name__
    return type(fn).__qualname__


def evaluate(
    functions: FreshFunctions, owner: str, digest: Callable[[Any, str], str]
) -> dict[str, str]:
    """Each fresh function's value as a signature part: ``fresh:<name>`` -> its digest
    (``digest(value, label)`` signs it as an argument is signed)."""
    facts: dict[str, str] = {}
    for name, fn in functions:
        try:
            value = fn()
        except Exception as exc:
            raise FreshError(
                f"{owner}: fresh function {name!r} failed: {type(exc).__name__}: {exc}"
            ) from exc
        try:
            facts[PREFIX + name] = digest(value, f"fresh {name}")
        except TypeError as exc:
            raise FreshError(
                f"{owner}: fresh function {name!r} returned a value that cannot be signed: {exc}"
            ) from None
    return facts


# --- built-in helpers -----------------------------------------------------------------


@dataclass(frozen=True)
class sql_table:  # lower case: used like a function, fresh=sql_table(...)
    """A SQL table's row count and, with ``column``, its maximum (``updated_at``, an id):
    one aggregate query. ``url`` is a SQLAlchemy URL or an ``Engine``."""

    url: Any
    table: str
    column: str | None = None
    schema: str | None = None

    @property
    def name(self) -> str:
        where = f"{self.schema}.{self.table}" if self.schema else self.table
        return f"table {where}" + (f" max({self.column})" if self.column else "")

    def __call__(self) -> tuple[Any, ...]:
        import sqlalchemy as sa

        engine = self.url if isinstance(self.url, sa.Engine) else _engine(str(self.url))
        measures: list[Any] = [sa.func.count()]
        if self.column is not None:
            measures.append(sa.func.max(sa.column(self.column)))
        query = sa.select(*measures).select_from(sa.table(self.table, schema=self.schema))
        with engine.connect() as conn:
            return tuple(conn.execute(query).one())


@functools.lru_cache(maxsize=16)
def _engine(url: str) -> Any:
    import sqlalchemy as sa

    return sa.create_engine(url, pool_pre_ping=True)


@dataclass(frozen=True)
class s3_prefix:
    """The objects under an S3 prefix by key, ETag and size: one listing, nothing read.
    ``storage_options`` go to s3fs (``AWS_ENDPOINT_URL`` is honoured)."""

    url: str
    storage_options: tuple[tuple[str, Any], ...] = ()

    def __init__(self, url: str, **storage_options: Any) -> None:
        if not url.startswith("s3://"):
            raise ValueError(f"s3_prefix takes an s3:// URL, got {url!r}")
        object.__setattr__(self, "url", url.rstrip("/"))
        object.__setattr__(self, "storage_options", tuple(sorted(storage_options.items())))

    @property
    def name(self) -> str:
        return self.url

    def __call__(self) -> list[tuple[str, str, int]]:
        import fsspec

        fs, root = fsspec.core.url_to_fs(self.url, **dict(self.storage_options))
        fs.invalidate_cache(root)  # a listing cached by an earlier call is not fresh
        found = fs.find(root, detail=True)
        listing = []
        for path, entry in sorted(found.items()):
            etag = entry.get("ETag") or entry.get("etag")
            if etag is None:
                raise ValueError(f"{path} has no ETag")
            listing.append((path[len(root) :].lstrip("/"), str(etag), int(entry["size"])))
        return listing


@dataclass(frozen=True)
class folder:
    """A local folder's files. ``by="content"`` (the default): names and contents, exactly as
    ``skipwise.File(path)`` signs a folder, each file hashed again only when its stat stamp
    changed in this process; no rewrite goes unseen, even one that keeps the size and the
    modification time (``cp -p``, ``rsync -t``). ``by="stat"``: names, sizes and modification
    times only, for folders too large to read at every plan, at the risk of missing such a
    rewrite."""

    path: str
    by: str = "content"

    def __post_init__(self) -> None:
        if self.by not in ("content", "stat"):
            raise ValueError(f"folder(by=...) takes 'content' or 'stat', got {self.by!r}")

    @property
    def name(self) -> str:
        return f"folder {inputs.path_label(self.path)}"

    def __call__(self) -> Any:
        if not os.path.isdir(self.path):
            raise FileNotFoundError(f"{self.path} is not a folder")
        if self.by == "content":
            return inputs.content(self.path, patterns=False)
        listing = []
        for root, dirs, files in os.walk(self.path):
            dirs.sort()
            for file in sorted(files):
                full = os.path.join(root, file)
                st = os.stat(full)
                relative = os.path.relpath(full, self.path).replace(os.sep, "/")
                listing.append((relative, st.st_size, st.st_mtime_ns))
        return listing
