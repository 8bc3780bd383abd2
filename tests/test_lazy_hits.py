"""A hit of ``skipwise.cached`` loads nothing until its value is used (``skipwise.deferred``).

The proof that a no-change run reads no stored data: every data file in the store is damaged
first, and the run still succeeds, since signing passes results on by lineage; only a value
the code then touches is read (found damaged, recomputed and replaced)."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import skipwise
from skipwise.deferred import is_lazy

PIPELINE = """
    import numpy as np
    import pandas as pd

    import skipwise

    RUNS = []

    @skipwise.cached
    def load(n):
        RUNS.append("load")
        return pd.DataFrame({"x": np.arange(n), "y": np.arange(n) * 2.0})

    @skipwise.cached
    def clean(df):
        RUNS.append("clean")
        return df[df.x % 2 == 0].reset_index(drop=True)

    @skipwise.cached
    def features(df):
        RUNS.append("features")
        return df.y.to_numpy() * 3

    @skipwise.cached
    def report(df, values):
        RUNS.append("report")
        return pd.DataFrame({"rows": [len(df)], "total": [float(values.sum())]})

    def pipeline(n=1000):
        cleaned = clean(load(n))
        return cleaned, report(cleaned, features(cleaned))
"""


def _damage_every_data_file(store: Path) -> int:
    damaged = 0
    for path in (store / "objects").rglob("*"):
        if path.is_file() and path.suffix in {".parquet", ".npy"}:
            path.write_bytes(b"damaged" * 10)
            damaged += 1
    return damaged


def test_a_no_change_run_reads_no_data_file(make_module, isolated_store: Path) -> None:
    steps = make_module("lazy_pipeline", PIPELINE)
    first_report = steps.pipeline()[1]
    assert steps.RUNS == ["load", "clean", "features", "report"]
    expected = skipwise.load(first_report).copy()
    assert _damage_every_data_file(isolated_store) == 4

    steps.RUNS.clear()
    cleaned, result = steps.pipeline()  # signs by lineage: no data file is read
    assert steps.RUNS == [] and is_lazy(cleaned) and is_lazy(result)
    assert not cleaned.__resolved__ and not result.__resolved__

    # Touching a value reads it: damaged, so its step is recomputed (its input, damaged too,
    # is recomputed on the way) and the value is right.
    with pytest.warns(skipwise.SkipwiseWarning, match="report"):
        assert result.equals(expected)
    assert steps.RUNS == ["load", "clean", "features", "report"]

    steps.RUNS.clear()
    again = steps.pipeline()[1]
    assert steps.RUNS == [] and again.equals(expected) and steps.RUNS == []


def test_a_hit_is_its_value_except_for_identity(make_module) -> None:
    steps = make_module("lazy_pipeline_values", PIPELINE)
    computed = steps.load(10)
    reused = steps.load(10)
    assert type(computed) is pd.DataFrame and is_lazy(reused) and not reused.__resolved__
    assert isinstance(reused, pd.DataFrame)  # the proxy reports the value's class ...
    assert reused.__resolved__  # ... which means reading it
    assert reused.equals(computed) and len(reused) == 10 and list(reused.columns) == ["x", "y"]
    assert type(reused) is not pd.DataFrame  # the one difference: identity
    value = skipwise.load(reused)
    assert type(value) is pd.DataFrame and value is skipwise.load(reused)
    assert skipwise.load(value) is value and skipwise.load(3) == 3
    assert type(skipwise.load(steps.features(steps.clean(reused)))) is np.ndarray


def test_passing_a_hit_on_signs_it_by_lineage_without_loading(make_module) -> None:
    steps = make_module("lazy_pipeline_lineage", PIPELINE)
    computed = steps.load(100)
    reused = steps.load(100)
    # The same signature whether the upstream was computed or is a lazy hit.
    assert steps.clean.signature(reused) == steps.clean.signature(computed)
    assert steps.clean.signature(reused) != steps.clean.signature(steps.load(101))
    assert not reused.__resolved__
    steps.clean(computed)
    assert steps.clean.run(reused).status == "reused" and not reused.__resolved__


def test_a_body_gets_the_value_itself(make_module) -> None:
    steps = make_module("lazy_pipeline_body", PIPELINE)
    steps.load(10)
    seen: list[type] = []

    @skipwise.cached
    def kind(df):
        seen.append(type(df))
        return len(df)

    assert kind(steps.load(10)) == 10 and seen == [pd.DataFrame]


def test_an_error_while_loading_names_the_result(
    make_module, isolated_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps = make_module("lazy_pipeline_error", PIPELINE)
    steps.load(10)
    _damage_every_data_file(isolated_store)
    reused = steps.load(10)
    monkeypatch.setattr(steps, "np", None)  # the recompute of the damaged entry fails
    with (
        pytest.warns(skipwise.SkipwiseWarning, match="recomputing lazy_pipeline_error.load"),
        pytest.raises(AttributeError) as raised,
    ):
        len(reused)
    notes = raised.value.__notes__
    assert any("stored result of lazy_pipeline_error.load" in note for note in notes)


def test_a_hit_lets_go_of_its_arguments_once_read(make_module) -> None:
    steps = make_module("lazy_pipeline_release", PIPELINE)
    steps.clean(steps.load(10))
    upstream = steps.load(10)
    downstream = steps.clean(upstream)
    upstream_ref = weakref.ref(upstream)
    del upstream
    gc.collect()
    assert upstream_ref() is not None  # an unread hit may need its arguments (to recompute)
    assert len(downstream) == 5
    gc.collect()
    assert upstream_ref() is None
