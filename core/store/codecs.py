"""Codecs turn a result into bytes and back. Pickle is opt-in: loading it runs code."""

from __future__ import annotations

import io
import json
import math
import pickle
from typing import Any, Protocol

from skipwise.errors import CodecError
from skipwise.store import structure


class Codec(Protocol):
    name: str
    suffix: str

    def accepts(self, value: object) -> bool: ...
    def encode(self, value: Any) -> bytes: ...
    def decode(self, data: bytes) -> Any: ...


def write_value(codec: Codec, value: Any, sink: Any) -> None:
    """Encode into a file object or a local path; codecs with a ``write`` method stream
    (Parquet writes natively to a path), others encode in memory."""
    streaming = getattr(codec, "write", None)
    if streaming is not None:
        streaming(value, sink)
    elif isinstance(sink, str):
        with open(sink, "wb") as handle:
            handle.write(codec.encode(value))
    else:
        sink.write(codec.encode(value))


def _module_root(value: object) -> str:
    return type(value).__module__.partition(".")[0]


class PandasParquet:
    name, suffix = "pandas", ".parquet"
    zero_copy = True  # decodes from any buffer
    _SERIES = b"skipwise.series"

    def accepts(self, value: object) -> bool:
        if _module_root(value) != "pandas":
            return False
        import pandas as pd

        return isinstance(value, pd.DataFrame | pd.Series)

    def _table(self, value: Any) -> Any:
        import pandas as pd
        import pyarrow as pa

        is_series = isinstance(value, pd.Series)
        frame = value.to_frame() if is_series else value
        try:
            table = pa.Table.from_pandas(frame)
        except (pa.ArrowException, TypeError, ValueError) as exc:
            raise CodecError(f"cannot write this DataFrame to Parquet: {exc}") from exc
        if is_series:
            meta = dict(table.schema.metadata or {})
            meta[self._SERIES] = b"1"
            table = table.replace_schema_metadata(meta)
        return table

    def write(self, value: Any, sink: Any) -> None:
        import pyarrow.parquet as pq

        pq.write_table(self._table(value), sink)

    def encode(self, value: Any) -> bytes:
        return _parquet_bytes(self._table(value))

    def decode(self, data: bytes) -> Any:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pq.read_table(pa.BufferReader(data))
        frame = table.to_pandas()
        if (table.schema.metadata or {}).get(self._SERIES):
            return frame.iloc[:, 0]
        return frame


class ArrowParquet:
    name, suffix = "arrow", ".parquet"
    zero_copy = True

    def accepts(self, value: object) -> bool:
        if _module_root(value) != "pyarrow":
            return False
        import pyarrow as pa

        return isinstance(value, pa.Table)

    def write(self, value: Any, sink: Any) -> None:
        import pyarrow.parquet as pq

        pq.write_table(value, sink)

    def encode(self, value: Any) -> bytes:
        return _parquet_bytes(value)

    def decode(self, data: bytes) -> Any:
        import pyarrow as pa
        import pyarrow.parquet as pq

        return pq.read_table(pa.BufferReader(data))


class PolarsParquet:
    """polars DataFrames, written through Arrow (no copy) so they read back as polars."""

    name, suffix = "polars", ".parquet"
    zero_copy = True

    def accepts(self, value: object) -> bool:
        if _module_root(value) != "polars":
            return False
        import polars as pl

        return isinstance(value, pl.DataFrame)

    def write(self, value: Any, sink: Any) -> None:
        import pyarrow.parquet as pq

        pq.write_table(value.to_arrow(), sink)

    def encode(self, value: Any) -> bytes:
        return _parquet_bytes(value.to_arrow())

    def decode(self, data: bytes) -> Any:
        import polars as pl
        import pyarrow as pa
        import pyarrow.parquet as pq

        return pl.from_arrow(pq.read_table(pa.BufferReader(data)))


def _parquet_bytes(table: Any) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


class NumpyArray:
    name, suffix = "numpy", ".npy"

    def accepts(self, value: object) -> bool:
        if _module_root(value) != "numpy":
            return False
        import numpy as np

        return isinstance(value, np.ndarray) and not value.dtype.hasobject

    def encode(self, value: Any) -> bytes:
        import numpy as np

        buffer = io.BytesIO()
        np.save(buffer, value, allow_pickle=False)
        return buffer.getvalue()

    def decode(self, data: bytes) -> Any:
        import numpy as np

        return np.load(io.BytesIO(data), allow_pickle=False)


def _is_json(value: object) -> bool:
    """Exactly the values that come back from JSON unchanged (no tuples, no int keys)."""
    t = type(value)
    if value is None or t in (bool, int, str):
        return True
    if t is float:
        return not math.isnan(value)  # nan != nan would make a round trip look lossy
    if t is list:
        return all(_is_json(v) for v in value)
    if t is dict:
        return all(type(k) is str and _is_json(v) for k, v in value.items())
    return False


class Json:
    name, suffix = "json", ".json"

    def accepts(self, value: object) -> bool:
        return _is_json(value)

    def encode(self, value: Any) -> bytes:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()

    def decode(self, data: bytes) -> Any:
        return json.loads(data)


class Text:
    name, suffix = "text", ".txt"

    def accepts(self, value: object) -> bool:
        return type(value) is str

    def encode(self, value: Any) -> bytes:
        return value.encode("utf-8", "surrogatepass")

    def decode(self, data: bytes) -> Any:
        return data.decode("utf-8", "surrogatepass")


class Bytes:
    name, suffix = "bytes", ".bin"

    def accepts(self, value: object) -> bool:
        return type(value) is bytes

    def encode(self, value: Any) -> bytes:
        return value

    def decode(self, data: bytes) -> Any:
        return data


class Structure:
    """Containers and the scalars JSON cannot keep, each leaf by its own codec (see
    :mod:`skipwise.store.structure`). Tried after every other codec."""

    name, suffix = "structure", ".skw"

    def accepts(self, value: object) -> bool:
        return unstorable_part(value) is None

    def encode(self, value: Any) -> bytes:
        try:
            return structure.encode(value, _leaf_codec, _encode_leaf)
        except structure.Unstorable as exc:
            raise CodecError(f"value{exc.path}: no codec stores {exc.type_name}") from None

    def decode(self, data: bytes) -> Any:
        return structure.decode(data, lambda name, part: get_codec(name).decode(part))


def _leaf_codec(value: object) -> str | None:
    """The codec that stores a leaf of a structure on its own (DataFrames, arrays...)."""
    for name in _automatic:
        if name != Structure.name and _codecs[name].accepts(value):
            return name
    return None


def _encode_leaf(name: str, value: object) -> bytes:
    return _codecs[name].encode(value)


def unstorable_part(value: object) -> structure.Unstorable | None:
    """Where in ``value`` the first part no codec stores is, or None if it can be stored."""
    try:
        structure.Encoder(_leaf_codec, lambda name, leaf: b"").node(value, "")
    except structure.Unstorable as exc:
        return exc
    return None


class Pickle:
    name, suffix = "pickle", ".pkl"

    def accepts(self, value: object) -> bool:
        return True

    def encode(self, value: Any) -> bytes:
        try:
            return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            raise CodecError(f"cannot pickle {type(value).__qualname__}: {exc}") from exc

    def decode(self, data: bytes) -> Any:
        return pickle.loads(data)


_codecs: dict[str, Codec] = {}
# Tried in this order when no codec is named; pickle never is.
_automatic: list[str] = []


def register_codec(codec: Codec, *, automatic: bool = True) -> None:
    """Add a codec; ``automatic`` codecs are tried, newest first, for values of unknown type."""
    if not getattr(codec, "name", None) or not getattr(codec, "suffix", None):
        raise TypeError(f"a codec needs a name and a suffix: {codec!r}")
    _codecs[codec.name] = codec
    if automatic and codec.name not in _automatic:
        _automatic.insert(0, codec.name)


# Newest first: Structure, registered first, is tried last.
for _codec in (
    Structure(),
    Bytes(),
    Text(),
    Json(),
    NumpyArray(),
    ArrowParquet(),
    PolarsParquet(),
    PandasParquet(),
):
    register_codec(_codec)
register_codec(Pickle(), automatic=False)


def get_codec(name: str) -> Codec:
    try:
        return _codecs[name]
    except KeyError:
        raise CodecError(f"unknown codec {name!r}; known: {', '.join(sorted(_codecs))}") from None


def choose_codec(value: object, requested: str | None, allow_pickle: bool, what: str) -> Codec:
    """The codec for ``value``; ``what`` names the result in errors."""
    if requested is not None:
        codec = get_codec(requested)
        if codec.name == "pickle" and not allow_pickle:
            raise CodecError(f"{what}: codec='pickle' needs allow_pickle=True")
        if not codec.accepts(value):
            raise CodecError(
                f"{what}: codec {codec.name!r} cannot store {type(value).__qualname__}"
            )
        return codec
    for name in _automatic:
        if _codecs[name].accepts(value):
            return _codecs[name]
    if allow_pickle:
        return _codecs["pickle"]
    part = unstorable_part(value)
    where, type_name = (part.path, part.type_name) if part else ("", qualified(value))
    raise CodecError(
        f"{what}{where}: no codec stores {type_name} safely; pass allow_pickle=True (trusted "
        "stores only), a codec=, or register_codec()"
    )


def qualified(value: object) -> str:
    return f"{type(value).__module__}.{type(value).__qualname__}"
