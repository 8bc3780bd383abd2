"""Results of every common shape, without pickle: containers stored structurally.

A tuple of two DataFrames, a dict holding a ``pd.Timestamp``, a dataclass of arrays: the
containers (tuple, list, dict, set, frozenset, NamedTuples and dataclasses) and the scalars JSON
cannot keep (dates, times, ``Decimal``, ``UUID``, bytes, complex, numpy scalars) are written as a
typed skeleton, and every other leaf by its own codec (DataFrames to Parquet, arrays to .npy),
all in one payload::

    MAGIC | header length (8 bytes, little-endian) | header JSON | leaf payloads

Decoding builds nothing but these types: a NamedTuple or dataclass is rebuilt only if its class
is already imported and is what the skeleton says it is (no import, no code runs).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import decimal
import json
import sys
import uuid
from collections.abc import Callable
from typing import Any

from skipwise.errors import CodecError

MAGIC = b"SKIPWISE-STRUCTURE-1\n"
MAX_DEPTH = 100
# Leaves stored by these codecs (the name of a registered codec each).
Leaf = Callable[[object], str | None]


class Unstorable(Exception):
    """A part of a value no codec stores: ``path`` says where (``['fit'][2]``)."""

    def __init__(self, path: str, value: object):
        super().__init__(path)
        self.path = path
        self.type_name = f"{type(value).__module__}.{type(value).__qualname__}"


def _class_name(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _iso(value: Any) -> str:
    return value.isoformat()


def _tz(value: dt.datetime | dt.time) -> str | None:
    """A named time zone (ZoneInfo), so it comes back as the same zone, not an offset."""
    key = getattr(value.tzinfo, "key", None)
    return key if isinstance(key, str) else None


class Encoder:
    """One payload's skeleton and leaf segments. ``leaf_codec`` names the codec for a value
    that is no container and no known scalar (None: unstorable)."""

    def __init__(self, leaf_codec: Leaf, encode_leaf: Callable[[str, object], bytes]):
        self._leaf_codec = leaf_codec
        self._encode_leaf = encode_leaf
        self.segments: list[tuple[str, bytes]] = []
        self._active: set[int] = set()

    def node(self, value: object, path: str, depth: int = 0) -> list[Any]:
        if depth > MAX_DEPTH:
            raise Unstorable(path, value)
        scalar = _scalar(value)
        if scalar is not None:
            return scalar
        if id(value) in self._active:  # a container that holds itself
            raise Unstorable(path, value)
        self._active.add(id(value))
        try:
            return self._container(value, path, depth + 1)
        finally:
            self._active.discard(id(value))

    def _container(self, value: Any, path: str, depth: int) -> list[Any]:
        t = type(value)
        if t in (tuple, list):
            return [t.__name__, [self.node(v, f"{path}[{i}]", depth) for i, v in enumerate(value)]]
        if t in (set, frozenset):
            items = [self.node(v, f"{path}{{...}}", depth) for v in value]
            return [t.__name__, sorted(items, key=json.dumps)]  # a canonical order
        if t is dict:
            return [
                "dict",
                [[self.node(k, f"{path}<key>", depth), self.node(v, f"{path}[{k!r}]", depth)]
                 for k, v in value.items()],
            ]  # fmt: skip
        if isinstance(value, tuple) and hasattr(t, "_fields") and _importable(t):
            items = [
                self.node(v, f"{path}.{f}", depth) for f, v in zip(t._fields, value, strict=True)
            ]
            return ["namedtuple", _class_name(t), items]
        if dataclasses.is_dataclass(value) and _importable(t) and _constructible(t):
            fields = {
                f.name: self.node(getattr(value, f.name), f"{path}.{f.name}", depth)
                for f in dataclasses.fields(value)
            }
            return ["dataclass", _class_name(t), fields]
        codec = self._leaf_codec(value)
        if codec is None:
            raise Unstorable(path, value)
        self.segments.append((codec, self._encode_leaf(codec, value)))
        return ["leaf", len(self.segments) - 1]


def _importable(cls: type) -> bool:
    return "<locals>" not in cls.__qualname__ and cls.__module__ in sys.modules


def _constructible(cls: type) -> bool:
    return all(f.init for f in dataclasses.fields(cls))


def _scalar(value: object) -> list[Any] | None:
    """The node of a value kept in the skeleton itself, or None."""
    t = type(value)
    if value is None:
        return ["none"]
    if t is bool:
        return ["bool", value]
    if t is int:
        return ["int", hex(value)]  # no decimal-conversion limit for big ints
    if t is float:
        return ["float", value.hex()]  # exact, nan and infinities included
    if t is str:
        return ["str", value]
    if t is bytes:
        return ["bytes", base64.b64encode(value).decode()]
    if t is complex:
        return ["complex", [value.real.hex(), value.imag.hex()]]
    if t is decimal.Decimal:
        return ["decimal", str(value)]
    if t is uuid.UUID:
        return ["uuid", str(value)]
    if t is dt.datetime:
        return ["datetime", _iso(value), _tz(value)]
    if t is dt.date:
        return ["date", _iso(value)]
    if t is dt.time:
        return ["time", _iso(value), _tz(value)]
    if t is dt.timedelta:
        return ["timedelta", [value.days, value.seconds, value.microseconds]]
    module = t.__module__.partition(".")[0]
    if module == "pandas":
        return _pandas_scalar(value)
    if module == "numpy":
        import numpy as np

        if isinstance(value, np.generic) and not value.dtype.hasobject:
            return ["numpy", value.dtype.str, base64.b64encode(value.tobytes()).decode()]
    return None


def _pandas_scalar(value: Any) -> list[Any] | None:
    import pandas as pd

    if type(value) is pd.Timestamp:
        tz = getattr(value.tzinfo, "key", None) or (str(value.tz) if value.tz else None)
        return ["timestamp", str(value.as_unit("ns").value), tz, value.unit]
    if type(value) is pd.Timedelta:
        return ["pd.timedelta", str(value.as_unit("ns").value), value.unit]
    return None


def encode(value: object, leaf_codec: Leaf, encode_leaf: Callable[[str, object], bytes]) -> bytes:
    encoder = Encoder(leaf_codec, encode_leaf)
    root = encoder.node(value, "")
    offsets, position = [], 0
    for codec, data in encoder.segments:
        offsets.append([codec, position, len(data)])
        position += len(data)
    header = json.dumps({"root": root, "segments": offsets}, separators=(",", ":")).encode()
    return b"".join(
        [MAGIC, len(header).to_bytes(8, "little"), header, *(d for _, d in encoder.segments)]
    )


def decode(data: bytes, decode_leaf: Callable[[str, Any], Any]) -> Any:
    view = memoryview(data)
    if bytes(view[: len(MAGIC)]) != MAGIC:
        raise CodecError("not a skipwise structure payload")
    start = len(MAGIC) + 8
    size = int.from_bytes(view[len(MAGIC) : start], "little")
    try:
        header = json.loads(bytes(view[start : start + size]))
        body = view[start + size :]
        leaves = []
        for codec, offset, length in header["segments"]:
            if not (offset >= 0 and length >= 0 and offset + length <= len(body)):
                raise CodecError("a leaf lies outside the payload")
            leaves.append(decode_leaf(codec, body[offset : offset + length]))
        return _build(header["root"], leaves, 0)
    except CodecError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise CodecError(f"malformed structure payload: {type(exc).__name__}: {exc}") from exc


def _build(node: list[Any], leaves: list[Any], depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise CodecError("structure payload nested too deeply")
    kind, *rest = node
    builder = _BUILDERS.get(kind)
    if builder is not None:
        return builder(*rest)
    down = depth + 1
    if kind in ("tuple", "list", "set", "frozenset"):
        items = [_build(n, leaves, down) for n in rest[0]]
        return {"tuple": tuple, "list": list, "set": set, "frozenset": frozenset}[kind](items)
    if kind == "dict":
        return {_build(k, leaves, down): _build(v, leaves, down) for k, v in rest[0]}
    if kind == "namedtuple":
        cls = _known_class(rest[0], lambda c: issubclass(c, tuple) and hasattr(c, "_fields"))
        return cls(*(_build(n, leaves, down) for n in rest[1]))
    if kind == "dataclass":
        cls = _known_class(rest[0], dataclasses.is_dataclass)
        return cls(**{name: _build(n, leaves, down) for name, n in rest[1].items()})
    if kind == "leaf":
        return leaves[rest[0]]
    raise CodecError(f"unknown node {kind!r} in a structure payload")


def _known_class(name: str, is_kind: Callable[[type], bool]) -> type:
    """An already imported class, of the kind the skeleton says: nothing is imported."""
    module_name, _, qualname = name.partition(":")
    target: Any = sys.modules.get(module_name)
    for part in qualname.split("."):
        target = getattr(target, part, None) if target is not None else None
    if not isinstance(target, type) or not is_kind(target):
        raise CodecError(f"{name} is not an imported class of that kind: import it first")
    return target


def _time_zone(key: str | None) -> Any:
    if key is None:
        return None
    from zoneinfo import ZoneInfo

    return ZoneInfo(key)


def _datetime(text: str, tz: str | None) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    return value.replace(tzinfo=_time_zone(tz)) if tz else value


def _time(text: str, tz: str | None) -> dt.time:
    value = dt.time.fromisoformat(text)
    return value.replace(tzinfo=_time_zone(tz)) if tz else value


def _numpy(dtype: str, data: str) -> Any:
    import numpy as np

    return np.frombuffer(base64.b64decode(data), dtype=np.dtype(dtype))[0]


def _timestamp(value: str, tz: str | None, unit: str) -> Any:
    import pandas as pd

    stamp = pd.Timestamp(int(value), unit="ns", tz="UTC" if tz else None)
    return (stamp.tz_convert(tz) if tz else stamp).as_unit(unit)


def _pandas_timedelta(value: str, unit: str) -> Any:
    import pandas as pd

    return pd.Timedelta(int(value), unit="ns").as_unit(unit)


_BUILDERS: dict[str, Callable[..., Any]] = {
    "none": lambda: None,
    "bool": bool,
    "int": lambda text: int(text, 16),
    "float": float.fromhex,
    "str": str,
    "bytes": lambda text: base64.b64decode(text),
    "complex": lambda parts: complex(float.fromhex(parts[0]), float.fromhex(parts[1])),
    "decimal": decimal.Decimal,
    "uuid": uuid.UUID,
    "datetime": _datetime,
    "date": dt.date.fromisoformat,
    "time": _time,
    "timedelta": lambda parts: dt.timedelta(days=parts[0], seconds=parts[1], microseconds=parts[2]),
    "numpy": _numpy,
    "timestamp": _timestamp,
    "pd.timedelta": _pandas_timedelta,
}
