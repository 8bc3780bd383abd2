"""Typed, deterministic hashing of values: arguments and the constants code reads.

Every value is fed to the hash with a tag for its type, so ``1``, ``True``, ``1.0``, ``"1"``,
``[1]`` and ``(1,)`` never collide. Sets are hashed order-free (sorted element digests), so the
interpreter's hash seed cannot change a signature. Dicts keep insertion order, because order can
change a result (a DataFrame built from a dict takes its column order from it).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import decimal
import enum
import fractions
import marshal
import os
import re
import sys
import types
import typing
import uuid
from collections.abc import Callable
from pathlib import PurePath
from typing import Any

from skipwise import hashing, inputs
from skipwise.attributes import computes_attributes, defines, instance_state, static_attribute
from skipwise.boundary import module_label
from skipwise.deferred import is_lazy, loaded
from skipwise.hashing import Framer
from skipwise.inputs import File

ContentHasher = Callable[[Any], bytes | str]

_registry: dict[type, ContentHasher] = {}


def register_hasher(type_: type, hasher: ContentHasher) -> None:
    """Teach skipwise to hash values of ``type_`` (and subclasses) by content.

    ``hasher(value)`` must return bytes or a string that changes whenever the content that can
    affect a result changes, and stays equal across processes and machines.
    """
    if not isinstance(type_, type):
        raise TypeError(f"register_hasher() needs a type, got {type_!r}")
    if not callable(hasher):
        raise TypeError(f"register_hasher() needs a callable hasher, got {hasher!r}")
    _registry[type_] = hasher


class Unhashable(TypeError):
    """A value of a type skipwise does not know how to hash; ``path`` locates it."""

    def __init__(self, type_name: str, path: str) -> None:
        super().__init__(type_name, path)
        self.type_name = type_name
        self.path = path


def qualified_type_name(t: type) -> str:
    return f"{t.__module__}.{t.__qualname__}"


# A callback that returns a string standing for a code object (function, class, partial...),
# or None when the object is not code; it also gets the value's path. The code walker answers
# with node keys, argument hashing with full code digests.
CodeRef = Callable[[object, str], str | None]
# Whether instances of a type are user data whose attributes should be hashed.
IsUserType = Callable[[type], bool]
# A callback that returns the signature an object was produced under, or None.
Lineage = Callable[[object], str | None]


class ValueHasher:
    """Feeds values, each field tagged with its type, into a :class:`~skipwise.hashing.Framer`.

    ``strict`` (arguments): an unknown type raises :class:`Unhashable`. Lenient (constants read
    by code): an unknown type is recorded in ``opaque`` and hashed by its type name only.

    Hashing runs no code of the value's own (no ``__getattr__``, ``__getattribute__`` or
    property: see :mod:`skipwise.attributes`), so it cannot change the value, and it follows
    what a value holds to at most ``MAX_DEPTH`` levels. A value that holds one of the values
    that contain it (a parent link) is hashed with a reference to that one's level.

    ``path_content`` (arguments): a path (any ``os.PathLike``) that names a file or a directory
    counts by its name and content; else, and for constants, by its text (what code does
    with a constant path is found by :mod:`skipwise.reads`, which can tell reads from writes).
    """

    def __init__(
        self,
        *,
        strict: bool,
        code_ref: CodeRef,
        is_user_type: IsUserType,
        lineage: Lineage | None = None,
        words: set[str] | None = None,
        path_content: bool = False,
    ):
        self.strict = strict
        self.path_content = path_content
        self.words = words
        self.code_ref = code_ref
        self.is_user_type = is_user_type
        self.lineage = lineage
        self.opaque: list[str] = []
        self._active: dict[int, int] = {}  # id -> level of the containers being fed

    def digest(self, value: object, path: str = "value") -> str:
        if self.lineage is None and _plain(value, self.words, 0):
            # Builtin data all the way down (the common constant or default): marshal's
            # format 2 has no back-references, so it is a canonical encoding, written in C.
            return hashing.digest_fields("marshal", marshal.dumps(value, 2))
        h = Framer("value")
        self.feed(h, value, path)
        return h.hexdigest()

    def feed(self, h: Framer, obj: object, path: str) -> None:
        t = type(obj)
        simple = _SIMPLE.get(t)
        if simple is not None:
            tag, text = simple(obj)
            h.field(tag, text)
            if t is str and self.words is not None and len(obj) < 10_000:
                self.words.update(_WORD.findall(obj))
            return
        if self.lineage is not None:
            key = self.lineage(obj)  # a result of another step: hashed by its lineage key
            if key is not None:
                h.field(b"R", key)
                return
        if is_lazy(obj):  # a result without lineage here (a constant): by its content
            self.feed(h, loaded(obj), path)
            return
        for klass in t.__mro__:
            hasher = _registry.get(klass)
            if hasher is not None:
                content = hasher(obj)
                h.field(b"U", qualified_type_name(t))
                h.field(b"u", content if isinstance(content, bytes) else str(content))
                return
        level = self._active.get(id(obj))
        if level is not None:  # inside itself: a canonical reference to where it began
            h.field(b"^", str(level))
            return
        if len(self._active) >= MAX_DEPTH:
            too_deep = f"{t.__qualname__} nested more than {MAX_DEPTH} levels deep"
            if self.strict:
                raise Unhashable(too_deep, path)
            self.opaque.append(f"{too_deep} (at {path})")
            h.field(b"O", too_deep)
            return
        self._active[id(obj)] = len(self._active)
        try:
            self._feed_composite(h, obj, t, path)
        finally:
            del self._active[id(obj)]

    def _feed_composite(self, h: Framer, obj: Any, t: type, path: str) -> None:
        if t is list or t is tuple:
            h.field(b"L" if t is list else b"P", str(len(obj)))
            for i, item in enumerate(obj):
                self.feed(h, item, f"{path}[{i}]")
            return
        if t is dict and _is_module_namespace(obj):
            # A module's globals (a library object may hold them): the module, by name.
            h.field(b"M", module_label(obj["__name__"]))
            return
        if t is dict or t is types.MappingProxyType:
            h.field(b"D", str(len(obj)))
            for key, item in obj.items():
                self.feed(h, key, f"{path} key")
                self.feed(h, item, f"{path}[{self._key_text(key)}]")
            return
        if t is set or t is frozenset:
            items = sorted(self.digest(item, f"{path}{{{self._key_text(item)}}}") for item in obj)
            h.field(b"S" if t is set else b"Z", "".join(items))
            return
        if issubclass(t, File):
            h.field(b"F", obj.content_digest())
            return
        if (code := self.code_ref(obj, path)) is not None:
            h.field(b"C", code)
            return
        if self.is_user_type(t):
            # Whatever the value, its class's code can change what it does.
            h.field(b"C", self.code_ref(t, path) or "")
        if issubclass(t, enum.Enum):
            h.field(b"E", qualified_type_name(t))
            h.field(b"e", static_attribute(obj, "_name_", ""))
            self.feed(h, static_attribute(obj, "_value_"), f"{path}.value")
        elif _module_of(t) in _ARRAY_MODULES and self._feed_array_like(h, obj, t, path):
            pass
        elif issubclass(t, _dt.datetime | _dt.date | _dt.time):
            h.field(b"t", qualified_type_name(t))
            h.field(b"T", obj.isoformat())
            h.field(b"z", repr(static_attribute(obj, "tzinfo")))
        elif issubclass(t, _dt.timedelta):
            h.field(b"d", f"{obj.days}:{obj.seconds}:{obj.microseconds}")
        elif issubclass(t, decimal.Decimal | fractions.Fraction | uuid.UUID):
            h.field(b"n", qualified_type_name(t))
            h.field(b"N", str(obj))
        elif issubclass(t, PurePath) or (self.path_content and issubclass(t, os.PathLike)):
            self._feed_path(h, obj, t)
        elif issubclass(t, range | slice):
            h.field(b"r", qualified_type_name(t))
            self.feed(h, (obj.start, obj.stop, obj.step), path)
        elif t.__module__ in _TYPING_MODULES and (origin := typing.get_origin(obj)) is not None:
            # Annotations that validation libraries act on: list[int], int | None, Optional[X].
            # A user generic (Box[int]) by its code: its repr names the module as imported.
            user = isinstance(origin, type) and self.is_user_type(origin)
            code = self.code_ref(origin, f"{path}.__origin__") if user else None
            h.field(b"y", code or repr(origin))
            self.feed(h, typing.get_args(obj), f"{path}.__args__")
        elif issubclass(t, re.Pattern):
            h.field(b"x", f"{obj.flags}")
            self.feed(h, obj.pattern, path)
        elif issubclass(t, _BUILTIN_BASES):
            # Subclasses of builtins: NamedTuple, defaultdict, str enums' values, set subclasses.
            h.field(b"X", qualified_type_name(t))
            base = next(c for c in t.__mro__ if c in _BUILTIN_BASES)
            self.feed(h, _AS_BUILTIN[base](obj), path)
            factory = static_attribute(obj, "default_factory")
            if factory is not None:
                self.feed(h, factory, f"{path}.default_factory")
            stored = static_attribute(obj, "__dict__")
            if stored:
                self.feed(h, dict(stored), f"{path}.__dict__")
        elif dataclasses.is_dataclass(t):
            h.field(b"K", qualified_type_name(t))
            state = instance_state(obj)
            names = [field.name for field in dataclasses.fields(t)]
            if all(name in state for name in names):
                for name in names:
                    h.field(b"f", name)
                    self.feed(h, state[name], f"{path}.{name}")
            else:  # a field a descriptor keeps elsewhere in the instance: all it stores
                self.feed(h, state, f"{path}.__dict__")
        elif self.strict:
            raise Unhashable(qualified_type_name(t), path)
        elif self.is_user_type(t):
            h.field(b"I", qualified_type_name(t))
            self.feed(h, instance_state(obj), f"{path}.__dict__")
        elif not self._feed_reduction(h, obj, t, path):
            self.opaque.append(qualified_type_name(t))
            h.field(b"O", qualified_type_name(t))

    def _feed_path(self, h: Framer, obj: Any, t: type) -> None:
        """A path by its text (portable: see :func:`skipwise.inputs.path_label`) and, for
        arguments, what it names: a missing path is its text alone."""
        text = os.fsdecode(os.fspath(obj))
        h.field(b"p", qualified_type_name(t))
        h.field(b"P", inputs.path_label(obj if isinstance(obj, PurePath) else text))
        if self.path_content:
            h.field(b"F", inputs.content(text, patterns=False))

    def _feed_array_like(self, h: Framer, obj: Any, t: type, path: str) -> bool:
        """numpy, pandas and Arrow values; False when this is not one (a dtype, a schema...)."""
        try:
            _feed_array_like(h, obj, t, path, self)
        except Unhashable:
            if self.strict:
                raise
            return False
        return True

    def _feed_reduction(self, h: Framer, obj: Any, t: type, path: str) -> bool:
        """Third-party and standard-library objects by the pickle protocol's reduction: what
        it takes to rebuild the object (a regex's pattern and flags, a schema's fields).
        The default reduction asks the object for ``__getnewargs_ex__`` and the like, which
        reaches a ``__getattr__``: such objects are hashed by what they store instead."""
        if computes_attributes(t) and not _reduces_itself(t):
            h.field(b"V", qualified_type_name(t))
            self.feed(h, instance_state(obj), f"{path}.__dict__")
            return True
        try:
            reduced = obj.__reduce_ex__(4)
        except Exception:
            return False
        if not isinstance(reduced, tuple) or len(reduced) < 2:
            return False
        parts = [reduced[0], reduced[1], *reduced[2:3]]
        for extra in reduced[3:5]:  # list and dict items come as iterators
            parts.append(None if extra is None else list(extra))
        h.field(b"V", qualified_type_name(t))
        self.feed(h, tuple(parts), f"{path}.__reduce__")
        return True

    def _key_text(self, key: object) -> str:
        """A dict key or set item as it appears in paths: deterministic in every process."""
        if type(key) is int:
            return _int_text(key)
        if type(key) in (str, float, bool) or key is None:
            return repr(key)
        code = static_attribute(key, "__code__")
        name = static_attribute(key, "__qualname__")
        name = name if isinstance(name, str) else type(key).__qualname__
        if isinstance(code, types.CodeType):
            body = hashing.digest_fields("code-label", code.co_code, repr(code.co_names))[:12]
            return f"{name}@{body}"
        labeller = ValueHasher(
            strict=False, code_ref=lambda o, p: None, is_user_type=self.is_user_type
        )
        labeller._active = self._active  # a key that holds what holds it ends there too
        return f"{name}#{labeller.digest(key)[:12]}"


def _is_module_namespace(namespace: dict) -> bool:
    name = namespace.get("__name__")
    module = sys.modules.get(name) if isinstance(name, str) else None
    return module is not None and getattr(module, "__dict__", None) is namespace


# Deeper containers are refused (a clear error) before Python's recursion limit is reached.
MAX_DEPTH = 100
_DECIMAL_BITS = 14_000  # 4214 decimal digits, under the 4300 that str() of an int allows
_PLAIN_LEAVES = frozenset({type(None), bool, int, float, complex, str, bytes})


def _plain(value: object, words: set[str] | None, depth: int) -> bool:
    """Whether ``value`` is builtin data only (no subclasses, sets or code); collects words."""
    t = type(value)
    if t in _PLAIN_LEAVES:
        if t is str and words is not None and len(value) < 10_000:  # type: ignore[arg-type]
            words.update(_WORD.findall(value))  # type: ignore[arg-type]
        return True
    if depth > 40:
        return False
    if t is tuple or t is list:
        return all(_plain(item, words, depth + 1) for item in value)  # type: ignore[attr-defined]
    if t is dict:
        for key, item in value.items():  # type: ignore[attr-defined]
            if not (_plain(key, words, depth + 1) and _plain(item, words, depth + 1)):
                return False
        return True
    return False


def _reduces_itself(t: type) -> bool:
    return (
        defines(t, "__reduce_ex__") is not object.__reduce_ex__
        or defines(t, "__reduce__") is not object.__reduce__
    )


def _float_text(x: float) -> str:
    return x.hex()


def _int_text(i: int) -> str:
    """Decimal, except past what ``str`` converts (4300 digits): hex, which has no limit and
    which no decimal text can be taken for."""
    return str(i) if i.bit_length() <= _DECIMAL_BITS else hex(i)


_SIMPLE: dict[type, Callable[[Any], tuple[bytes, str | bytes]]] = {
    type(None): lambda _: (b"0", b""),
    bool: lambda b: (b"b", b"1" if b else b"0"),
    int: lambda i: (b"i", _int_text(i)),
    float: lambda f: (b"f", _float_text(f)),
    complex: lambda c: (b"c", f"{_float_text(c.real)},{_float_text(c.imag)}"),
    str: lambda s: (b"s", s),
    bytes: lambda b: (b"y", b),
    bytearray: lambda b: (b"Y", bytes(b)),
}

_ARRAY_MODULES = {"numpy", "pandas", "polars", "pyarrow"}
_TYPING_MODULES = frozenset({"typing", "types", "typing_extensions"})
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BUILTIN_BASES = (int, float, str, bytes, tuple, list, dict, set, frozenset)
# A builtin subclass's value as the builtin holds it, whatever the subclass's __iter__, __str__...
_AS_BUILTIN: dict[type, Callable[[Any], object]] = {
    int: int.__int__,
    float: float.__float__,
    str: str.__str__,
    bytes: bytes.__bytes__,
    tuple: lambda value: tuple(tuple.__iter__(value)),
    list: lambda value: list(list.__iter__(value)),
    dict: lambda value: dict(dict.items(value)),
    set: lambda value: set(set.__iter__(value)),
    frozenset: lambda value: frozenset(frozenset.__iter__(value)),
}


def _module_of(t: type) -> str:
    return t.__module__.partition(".")[0]


def _feed_array_like(h: Framer, obj: Any, t: type, path: str, hasher: ValueHasher) -> None:
    root = _module_of(t)
    if root == "numpy":
        _feed_numpy(h, obj, path, hasher)
    elif root == "pandas":
        _feed_pandas(h, obj, t, path, hasher)
    elif root == "polars":
        _feed_polars(h, obj, t, path)
    else:
        _feed_arrow(h, obj, t, path)


def _feed_numpy(h: Framer, obj: Any, path: str, hasher: ValueHasher) -> None:
    import numpy as np

    if isinstance(obj, np.generic):
        h.field(b"g", repr(obj.dtype))
        h.field(b"G", obj.tobytes() if not obj.dtype.hasobject else repr(obj))
        return
    if not isinstance(obj, np.ndarray):
        raise Unhashable(qualified_type_name(type(obj)), path)
    # repr(dtype) keeps field names and order of structured arrays; .str does not.
    h.field(b"a", repr(obj.dtype))
    h.field(b"A", ",".join(map(str, obj.shape)))
    if isinstance(obj, np.ma.MaskedArray):
        hasher.feed(h, (np.ma.getmaskarray(obj).tolist(), obj.fill_value), f"{path}.mask")
        obj = obj.filled()
    if obj.dtype.hasobject:
        hasher.feed(h, obj.tolist(), path)
    else:
        h.buffer(b"B", memoryview(np.ascontiguousarray(obj)).cast("B"))


def _feed_pandas(h: Framer, obj: Any, t: type, path: str, hasher: ValueHasher) -> None:
    import pandas as pd

    if isinstance(obj, pd.Categorical):
        obj = pd.Series(obj)
    if isinstance(obj, pd.DataFrame):
        h.field(b"df", repr([str(c) for c in obj.columns]))
        h.field(b"dc", repr([type(c).__name__ for c in obj.columns]))
        # repr(dtype) includes a categorical's categories and whether they are ordered.
        h.field(b"dt", repr([repr(d) for d in obj.dtypes]))
    elif isinstance(obj, pd.Series):
        h.field(b"ds", repr(obj.name))
        h.field(b"dt", repr(obj.dtype))
    elif isinstance(obj, pd.Index):
        h.field(b"di", repr(obj.dtype))
    elif isinstance(obj, pd.Timestamp | pd.Timedelta | pd.Period | pd.Interval):
        h.field(b"dx", qualified_type_name(t))
        h.field(b"dX", repr(obj))
        return
    else:
        raise Unhashable(qualified_type_name(t), path)
    index = obj if isinstance(obj, pd.Index) else obj.index
    h.field(b"dn", repr(list(index.names)))
    h.field(b"dI", repr(index.dtype))
    try:
        rows = pd.util.hash_pandas_object(obj, index=not isinstance(obj, pd.Index))
    except TypeError:
        # Cells that pandas cannot hash (lists, dicts): hash them one by one.
        frame = obj.to_frame() if isinstance(obj, pd.Series) else obj
        table = frame.to_dict("split") if not isinstance(obj, pd.Index) else obj.tolist()
        hasher.feed(h, table, path)
        return
    h.buffer(b"dR", memoryview(rows.to_numpy()).cast("B"))


def _feed_polars(h: Framer, obj: Any, t: type, path: str) -> None:
    """A polars DataFrame or Series by its content, through Arrow (no copy), tagged as polars:
    never equal to the same data in pandas or Arrow. A LazyFrame is a query, not data. Bytes
    Arrow leaves past the end of a validity bitmap can differ between equal frames: at worst
    a needless recompute, never a stale hit (every value and null is in the bytes)."""
    import polars as pl

    if isinstance(obj, pl.Series):
        obj = obj.to_frame()
    if not isinstance(obj, pl.DataFrame):
        raise Unhashable(qualified_type_name(t), path)
    h.field(b"pl", qualified_type_name(t))
    _feed_ipc(h, obj.rechunk().to_arrow())


def _feed_arrow(h: Framer, obj: Any, t: type, path: str) -> None:
    import pyarrow as pa

    if isinstance(obj, pa.Array | pa.ChunkedArray):
        obj = pa.table({"_": obj})
    elif isinstance(obj, pa.RecordBatch):
        obj = pa.Table.from_batches([obj])
    if not isinstance(obj, pa.Table):
        raise Unhashable(qualified_type_name(t), path)
    h.field(b"pa", qualified_type_name(t))
    _feed_ipc(h, obj)


def _feed_ipc(h: Framer, table: Any) -> None:
    """An Arrow table's schema and values, in Arrow's IPC stream format."""
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    h.buffer(b"pA", sink.getvalue())
