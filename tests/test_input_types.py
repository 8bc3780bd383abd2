"""``input_type=``: conversions between pandas, polars and Arrow, and how polars frames are
signed as arguments. Stores are covered in tests/stores/test_table_inputs.py."""

from __future__ import annotations

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
import sqlalchemy as sa

import skipwise
from skipwise import input_types
from skipwise.engine import argument_record


def digest(value: object) -> str:
    return argument_record(value, "x", "test").digest


def test_polars_frames_are_signed_by_content_and_type() -> None:
    frame = pl.DataFrame({"a": [1, 2, 3], "s": ["x", None, "z"]})
    assert digest(frame) == digest(pl.DataFrame({"a": [1, 2, 3], "s": ["x", None, "z"]}))
    full = pl.DataFrame({"a": [1, 2, 3], "s": ["x", "y", "z"]})
    chunked = pl.concat([full[:1], full[1:]], rechunk=False)
    assert chunked.n_chunks() == 2
    assert digest(full) == digest(chunked) == digest(full.clone())
    assert digest(frame) != digest(full)
    assert digest(frame) != digest(pl.DataFrame({"a": [1, 2, 4], "s": ["x", None, "z"]}))
    assert digest(frame) != digest(frame.rename({"a": "b"}))
    assert digest(frame) != digest(frame.cast({"a": pl.Int32}))
    # The same data in pandas, Arrow, or as a polars Series is another argument.
    assert digest(frame) != digest(frame.to_pandas())
    assert digest(frame) != digest(frame.to_arrow())
    assert digest(frame.select("a")) != digest(frame["a"])
    with pytest.raises(skipwise.ArgumentError, match="LazyFrame"):  # a query is not data
        digest(frame.lazy())


@pytest.mark.parametrize(
    "target, kind",
    [
        (pd.DataFrame, pd.DataFrame),
        (pl.DataFrame, pl.DataFrame),
        (pl.LazyFrame, pl.LazyFrame),
        (pa.Table, pa.Table),
        ("polars", pl.DataFrame),
    ],
)
def test_every_frame_converts_to_every_type(target: object, kind: type) -> None:
    data = {"a": [1, 2, 3], "s": ["x", None, "z"], "f": [0.5, None, 2.0]}
    sources = [pd.DataFrame(data), pl.DataFrame(data), pl.DataFrame(data).lazy(), pa.table(data)]
    wanted = input_types.kind_of(target, "test")
    for source in sources:
        converted = input_types.convert(source, wanted)
        assert isinstance(converted, kind)
        if isinstance(converted, pl.LazyFrame):
            converted = converted.collect()
        as_polars = input_types.convert(converted, input_types.POLARS)
        assert as_polars.equals(pl.DataFrame(data)), (type(source), target)
    for other in (3, "text", [1, 2], pd.Series([1, 2])):  # not tables: passed as they are
        assert input_types.convert(other, wanted) is other


def test_arrow_conversions_share_buffers() -> None:
    """Arrow to polars and back, and numeric pandas columns to Arrow, copy nothing."""
    table = pa.table({"a": pa.array(range(10_000), pa.int64())})
    frame = input_types.convert(table, input_types.POLARS)
    back = input_types.convert(frame, input_types.ARROW)
    address = table.column("a").chunk(0).buffers()[1].address
    assert back.column("a").chunk(0).buffers()[1].address == address
    pandas = pd.DataFrame({"a": range(10_000)})
    shared = input_types.convert(pandas, input_types.ARROW)
    assert shared.column("a").chunk(0).buffers()[1].address == pandas["a"].values.ctypes.data


def test_a_pandas_index_becomes_data_for_polars() -> None:
    frame = pd.DataFrame({"a": [1, 2]}, index=pd.Index(["x", "y"], name="key"))
    assert input_types.convert(frame, input_types.POLARS).columns == ["a", "key"]
    plain = pd.DataFrame({"a": [1, 2]})  # a default RangeIndex is no column
    assert input_types.convert(plain, input_types.POLARS).columns == ["a"]


def test_unsupported_input_type_names_the_task_and_the_type() -> None:
    for bad in (dict, pd.Series, "frames", pl.Series, sa.Column):
        with pytest.raises(
            TypeError, match=r"_locals_\.task: input_type=.* is not supported; use pd.DataFrame"
        ):

            @skipwise.cached(input_type=bad)
            def task(x):
                return x


def test_input_type_is_part_of_the_signature() -> None:
    def body(frame):
        return frame

    frame = pd.DataFrame({"a": [1]})
    plain = skipwise.cached(body, name="t").signature(frame)
    as_polars = skipwise.cached(body, name="t", input_type=pl.DataFrame).signature(frame)
    as_arrow = skipwise.cached(body, name="t", input_type=pa.Table).signature(frame)
    assert len({plain, as_polars, as_arrow}) == 3
    tree = skipwise.cached(body, name="t", input_type=pl.DataFrame).tree(frame)
    assert tree.extra["input_type"] == "polars"


def test_frames_inside_containers_are_converted(tmp_path) -> None:
    seen = []

    @skipwise.cached
    def frames(n):
        return pd.DataFrame({"a": list(range(n))})

    @skipwise.cached(input_type=pl.DataFrame)
    def combine(parts, named, scale=2):
        seen.append((type(parts[0]), type(named["x"]), type(scale)))
        return pl.concat([*parts, named["x"]]).with_columns(pl.col("a") * scale)

    result = combine([frames(1), frames(2)], {"x": frames(3)})
    assert seen == [(pl.DataFrame, pl.DataFrame, int)]
    assert isinstance(result, pl.DataFrame)
    assert result["a"].to_list() == [0, 0, 2, 0, 2, 4]
