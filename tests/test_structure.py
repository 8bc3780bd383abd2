"""Results of every common shape come back with identical types and values, without pickle."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import json
import uuid
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

import skipwise
from skipwise.store import structure
from skipwise.store.codecs import get_codec


class Fit(NamedTuple):
    coefficients: np.ndarray
    score: float


@dataclasses.dataclass(frozen=True)
class Report:
    frame: pd.DataFrame
    created: pd.Timestamp
    notes: tuple[str, ...] = ()


FRAME = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
SHAPES = {
    "two frames": (FRAME, FRAME.assign(a=[3, 4])),
    "timestamp in a dict": {"at": pd.Timestamp("2024-01-02 03:04:05.123456789"), "n": 1},
    "aware timestamp": pd.Timestamp("2024-03-31 01:30", tz="Europe/Paris"),
    "dates": [dt.date(2024, 1, 2), dt.datetime(2024, 1, 2, 3, 4, 5, 6), dt.time(1, 2, 3)],
    "aware datetime": dt.datetime(2024, 7, 1, 12, tzinfo=ZoneInfo("America/New_York")),
    "utc datetime": dt.datetime(2024, 7, 1, 12, tzinfo=dt.UTC),
    "durations": (dt.timedelta(days=-1, seconds=5), pd.Timedelta("1 days 00:00:00.000000001")),
    "decimal and uuid": [decimal.Decimal("0.1"), uuid.UUID(int=7)],
    "sets": (set(), {3, 1, 2}, frozenset({"a", "b"})),
    "odd keys": {1: "int", (1, "a"): "tuple", None: "none", 2.5: "float"},
    "scalars": (b"\x00raw", 1 + 2j, float("nan"), float("-inf"), 10**1000, np.float32(1.5)),
    "numpy inside": {"x": np.arange(6).reshape(2, 3), "i": np.int64(7)},
    "namedtuple": Fit(np.array([1.5, 2.5]), 0.75),
    "dataclass": Report(FRAME, pd.Timestamp("2024-01-01"), ("ok",)),
    "nested": {"fit": [Fit(np.zeros(2), 1.0), {"deep": [(1, (2, (3, dt.date(2024, 1, 1))))]}]},
    "a series and an empty tuple": (FRAME["a"], ()),
}


def same(a: object, b: object) -> bool:
    """Equal values of identical types, all the way down."""
    if type(a) is not type(b):
        return False
    if isinstance(a, pd.DataFrame | pd.Series):
        return a.equals(b)
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, float) and a != a:
        return b != b
    if isinstance(a, dt.datetime | dt.time):
        return a == b and str(a.tzinfo) == str(b.tzinfo)
    if isinstance(a, pd.Timestamp):
        return a == b and str(a.tz) == str(b.tz) and a.unit == b.unit
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if dataclasses.is_dataclass(a):
        return all(same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    return a == b


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_round_trip_through_the_store(shape: str, isolated_store: Path) -> None:
    value = SHAPES[shape]

    @skipwise.cached(name=f"shapes.{shape.replace(' ', '_')}")
    def produce():
        return value

    computed, reused = produce.run(), produce.run()
    assert (computed.status, computed.stored, reused.status) == ("computed", True, "reused")
    assert computed.manifest.codec == "structure"
    assert same(value, skipwise.load(reused.value))


def test_sqlite_stores_them_too(tmp_path: Path) -> None:
    value = SHAPES["two frames"] + (SHAPES["dataclass"],)
    skipwise.configure(store=f"sqlite:///{tmp_path}/store.db")
    produce = skipwise.cached(lambda: value, name="shapes.sqlite")
    produce()
    assert same(value, skipwise.load(produce.run().value)) and produce.run().status == "reused"


def test_the_encoding_is_canonical() -> None:
    """The same value gives the same bytes (set order included), so a recompute with the same
    output does not rerun what consumes it."""
    codec = get_codec("structure")
    value = {"s": {f"item{i}" for i in range(50)}, "f": FRAME}
    assert codec.encode(value) == codec.encode({"s": set(value["s"]), "f": FRAME.copy()})


def test_what_no_codec_stores_is_named_by_its_place() -> None:
    class Model:
        pass

    with pytest.raises(skipwise.CodecError, match=r"result of m\['fit'\]\[2\]: no codec stores"):
        skipwise.store.codecs.choose_codec({"fit": [1, 2, Model()]}, None, False, "result of m")
    found = skipwise.store.codecs.unstorable_part((1, {"k": [Model()]}))
    assert found is not None and found.path == "[1]['k'][0]"
    loop: list[object] = []
    loop.append(loop)
    assert skipwise.store.codecs.unstorable_part(loop) is not None


def payload(root: list, segments: list | None = None, body: bytes = b"") -> bytes:
    header = json.dumps({"root": root, "segments": segments or []}).encode()
    return structure.MAGIC + len(header).to_bytes(8, "little") + header + body


@pytest.mark.parametrize(
    "data",
    [
        payload(["dataclass", "os:system", {}]),  # a function, not a dataclass
        payload(["dataclass", "never_imported_module:Thing", {}]),  # nothing is imported
        payload(["namedtuple", "tests.test_structure:Report", []]),  # the wrong kind
        payload(["leaf", 0], [["numpy", 0, 999]], b"short"),  # outside the payload
        payload(["leaf", 3]),
        payload(["nonsense"]),
        payload(json.loads('["list", [' * 150 + '["none"]' + "]]" * 150)),  # too deep
        b"not a structure",
        structure.MAGIC + (10**6).to_bytes(8, "little") + b"{",
    ],
)
def test_a_forged_payload_is_refused_cleanly(data: bytes) -> None:
    with pytest.raises(skipwise.CodecError):
        get_codec("structure").decode(data)
