"""The public API contract of skipwise.cached and skipwise.signature."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import skipwise
from skipwise.store import open_store


def test_bare_decorator_reuses_and_says_so() -> None:
    runs: list[int] = []

    @skipwise.cached
    def add(a, b):
        runs.append(1)
        return a + b

    first = add.run(1, 2)
    second = add.run(1, 2)
    assert (first.value, second.value) == (3, 3)
    assert (first.status, second.status) == ("computed", "reused")
    assert len(runs) == 1
    assert add(1, 3) == 4 and len(runs) == 2


def test_decorator_with_options_and_plain_call() -> None:
    runs: list[int] = []

    def double(x):
        runs.append(x)
        return x * 2

    named = skipwise.cached(name="results/double", version=1)(double)
    assert named(4) == 8 and named(4) == 8
    # The plain-call form with the same version shares the signature (names do not count)...
    assert skipwise.cached(double, version=1)(4) == 8
    assert runs == [4]  # ...so nothing ran again
    bumped = skipwise.cached(double, name="results/double", version=2)
    assert bumped.signature(4) != named.signature(4)


def test_signature_runs_nothing_and_matches_the_stored_key(isolated_store: Path) -> None:
    runs: list[int] = []

    def f(x):
        runs.append(x)
        return x

    sig = skipwise.signature(f, 5)
    assert runs == [] and len(sig) == 64
    outcome = skipwise.cached(f).run(5)
    assert outcome.signature == sig
    assert open_store(isolated_store).exists(sig)


def test_kwargs_order_and_defaults_do_not_matter() -> None:
    def f(a, b=2, **options):
        return a

    cached = skipwise.cached(f)
    assert cached.signature(1, b=2, x=1, y=2) == cached.signature(1, y=2, x=1)
    assert cached.signature(1) == cached.signature(a=1, b=2)
    assert cached.signature(1) != cached.signature(1, b=3)


@pytest.mark.parametrize("a, b", [(1, True), (1, 1.0), (1, "1"), ([1], (1,)), ({1}, [1]), ({}, [])])
def test_argument_types_are_distinguished(a, b) -> None:
    def f(x):
        return x

    assert skipwise.signature(f, a) != skipwise.signature(f, b)


def test_ignore_leaves_an_argument_out() -> None:
    def f(x, verbose=False):
        return x

    cached = skipwise.cached(f, ignore=["verbose"])
    assert cached.signature(1, verbose=True) == cached.signature(1, verbose=False)
    with pytest.raises(ValueError, match="ignore= names no parameter"):
        skipwise.cached(f, ignore=["nope"])


def test_unsupported_argument_names_parameter_and_type() -> None:
    class Opaque:
        pass

    def f(thing):
        return 1

    with pytest.raises(TypeError, match=r"argument 'thing' of type .*Opaque.*register_hasher"):
        skipwise.signature(f, Opaque())


def test_register_hasher_makes_a_type_hashable() -> None:
    class Point:
        def __init__(self, x):
            self.x = x

    skipwise.register_hasher(Point, lambda p: str(p.x))

    def f(p):
        return p.x

    assert skipwise.signature(f, Point(1)) == skipwise.signature(f, Point(1))
    assert skipwise.signature(f, Point(1)) != skipwise.signature(f, Point(2))


def test_dataframes_arrays_and_arrow_are_hashed_by_content() -> None:
    import pyarrow as pa

    def f(x):
        return 1

    df = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    assert skipwise.signature(f, df) == skipwise.signature(f, df.copy())
    assert skipwise.signature(f, df) != skipwise.signature(f, df.assign(a=[1, 3]))
    assert skipwise.signature(f, df) != skipwise.signature(f, df.rename(columns={"a": "c"}))
    assert skipwise.signature(f, df) != skipwise.signature(f, df.astype({"a": "float64"}))
    arr = np.arange(6)
    assert skipwise.signature(f, arr) != skipwise.signature(f, arr.reshape(2, 3))
    table = pa.table({"a": [1, 2]})
    assert skipwise.signature(f, table) == skipwise.signature(f, pa.table({"a": [1, 2]}))
    assert skipwise.signature(f, table) != skipwise.signature(f, pa.table({"a": [1, 3]}))


def test_file_arguments_are_hashed_by_content(tmp_path: Path) -> None:
    data = tmp_path / "in.csv"
    data.write_text("a\n1\n")

    @skipwise.cached
    def rows(path):
        return len(Path(path).read_text().splitlines())

    before = rows.signature(skipwise.File(data))
    assert rows(skipwise.File(data)) == 2
    data.write_text("a\n1\n2\n")
    assert rows.signature(skipwise.File(data)) != before
    assert rows(skipwise.File(data)) == 3
    with pytest.raises(FileNotFoundError):
        rows.signature(skipwise.File(tmp_path / "missing.csv"))


def test_results_carry_lineage_into_downstream_calls() -> None:
    @skipwise.cached
    def load(n):
        return pd.DataFrame({"x": range(n)})

    @skipwise.cached
    def total(df):
        return int(df["x"].sum())

    frame = load(4)
    tree = total.tree(frame)
    assert tree.arguments["df"].upstream == (load.signature(4),)
    assert total(frame) == 6


def test_cached_functions_calling_cached_functions(make_module) -> None:
    module = make_module(
        "nested_pipeline",
        """
        import skipwise

        @skipwise.cached
        def inner(x):
            return x + 1

        @skipwise.cached
        def outer(x):
            return inner(x) * 2
        """,
    )
    assert module.outer(1) == 4
    assert module.inner.run(1).status == "reused"
    assert module.outer.run(1).status == "reused"
    assert "nested_pipeline:inner" in module.outer.code().nodes


def test_error_in_body_stores_nothing(isolated_store: Path) -> None:
    @skipwise.cached
    def broken(x):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        broken(1)
    assert not open_store(isolated_store).exists(broken.signature(1))


def test_codecs_round_trip_and_pickle_is_opt_in() -> None:
    @skipwise.cached
    def frame():
        return pd.DataFrame({"a": [1.5, None], "b": ["x", "y"]}, index=[10, 20])

    @skipwise.cached
    def series():
        return pd.Series([1, 2], name="s")

    @skipwise.cached
    def values():
        return {"a": [1, 2.5, None, "x"], "b": True}

    @skipwise.cached
    def pair():
        return (1, 2)

    for fn in (frame, series, values):
        first, again = fn.run(), fn.run()
        assert again.status == "reused"
        if isinstance(first.value, pd.DataFrame | pd.Series):
            assert first.value.equals(again.value)
            assert type(first.value) is type(skipwise.load(again.value))
        else:
            assert first.value == again.value
    # A tuple is stored structurally (tests/test_structure.py); what no codec stores is
    # returned with a warning naming where it is, and how to allow it.
    assert pair() == (1, 2) and pair.run().status == "reused"

    @skipwise.cached
    def opaque():
        return {"fit": [1, 2, Opaque()]}

    with pytest.warns(skipwise.SkipwiseWarning, match=r"\['fit'\]\[2\]: no codec .*allow_pickle"):
        value = opaque()
    assert value["fit"][:2] == [1, 2] and opaque.run().status == "computed"
    pickled = skipwise.cached(opaque.fn, allow_pickle=True, name="pair_pickled")
    assert pickled()["fit"][2] == Opaque() and pickled.run().status == "reused"


class Opaque:
    """A plain object: no codec but pickle stores it."""

    def __eq__(self, other: object) -> bool:
        return type(other) is Opaque

    __hash__ = object.__hash__


def test_pickled_entries_are_not_loaded_unless_allowed() -> None:
    runs: list[int] = []

    def values():
        runs.append(1)
        return {"a": 1}

    skipwise.cached(values, codec="pickle", allow_pickle=True)()
    with pytest.warns(skipwise.SkipwiseWarning, match="pickle"):
        outcome = skipwise.cached(values).run()
    assert outcome.status == "computed" and len(runs) == 2


def test_corrupted_data_is_never_served(isolated_store: Path) -> None:
    runs: list[int] = []

    @skipwise.cached
    def f():
        runs.append(1)
        return {"value": 1}

    outcome = f.run()
    store = open_store(isolated_store)
    data = (
        Path(store.root)
        / "objects"
        / outcome.signature[:2]
        / outcome.signature
        / outcome.manifest.data
    )
    data.write_text('{"value": 2}')
    with pytest.warns(skipwise.SkipwiseWarning, match="checksum"):
        again = f.run()
    assert again.value == {"value": 1} and again.status == "computed" and len(runs) == 2
    assert f.run().status == "reused"


def test_reason_names_the_changed_dependency(make_module) -> None:
    source = """
        import skipwise

        RATE = {rate}

        def helper(x):
            return x * RATE

        @skipwise.cached(name="reasoned")
        def task(x):
            return helper(x)
        """
    first = make_module("reasons", source.format(rate=2))
    assert first.task.run(3).status == "computed"
    second = make_module("reasons", source.format(rate=3))
    outcome = second.task.run(3)
    assert outcome.status == "computed"
    assert "reasons:RATE" in outcome.reason


def test_dynamic_code_warns_with_function_and_line(make_module) -> None:
    with pytest.warns(skipwise.SkipwiseWarning, match=r"eval\(\) in dyn:task \(dyn\)") as record:
        module = make_module(
            "dyn",
            """
            def task(expr):
                return eval(expr)
            """,
        )
        skipwise.signature(module.task, "1+1")
    assert "line 3" in str(record[0].message)


def test_declared_dependencies_enter_the_signature(tmp_path: Path) -> None:
    config_file = tmp_path / "settings.json"
    config_file.write_text(json.dumps({"k": 1}))

    def task():
        return json.loads(config_file.read_text())["k"]

    declared = skipwise.cached(task, depends_on=[skipwise.File(config_file)])
    before = declared.signature()
    config_file.write_text(json.dumps({"k": 2}))
    assert declared.signature() != before


def test_invalid_names_are_refused() -> None:
    for bad in ("../escape", "/abs", "a//b", "a/../b", "", "semi;colon"):
        with pytest.raises(skipwise.InvalidName):
            skipwise.cached(lambda: 1, name=bad)


def test_state_mutated_by_reachable_code_is_not_an_input(make_module) -> None:
    module = make_module(
        "memo",
        """
        _memo = {}
        CONFIG = {"rate": 2}

        def lookup(k):
            if k not in _memo:
                _memo[k] = k * CONFIG["rate"]
            return _memo[k]

        def task(k):
            return lookup(k)
        """,
    )
    before = skipwise.signature(module.task, 1)
    module.task(1), module.task(2)
    assert skipwise.signature(module.task, 1) == before  # a filled memo is not a change
    module.CONFIG["rate"] = 3
    assert skipwise.signature(module.task, 1) != before  # a read-only global counts by value


def test_module_names_do_not_carry_the_dag_files_path() -> None:
    from skipwise.boundary import module_label

    hashed = "unusual_prefix_" + "ab" * 20 + "_taxi_dag"
    assert module_label(hashed) == "taxi_dag"
    assert module_label("taxi.steps") == "taxi.steps"


def test_refs_inside_containers_load_only_on_a_miss(isolated_store: Path) -> None:
    @skipwise.cached
    def part(k):
        return {"k": k}

    runs: list[int] = []

    def combine(parts):
        runs.append(1)
        return sorted(p["k"] for p in parts.values())

    refs = {"a": skipwise.Ref(part.run(1).signature), "b": skipwise.Ref(part.run(2).signature)}
    merged = skipwise.cached(combine)
    assert merged(refs) == [1, 2] and runs == [1]
    outcome = merged.execute(merged.tree(refs), (refs,), {}, load=False)
    assert (outcome.status, outcome.value, runs) == ("reused", None, [1])


def test_outcome_says_what_changed_since_the_previous_result(make_module) -> None:
    source = "import skipwise\nRATE = {rate}\n\n@skipwise.cached(name='changes')\ndef task(x):\n    return x * RATE\n"
    first = make_module("changes_mod", source.format(rate=2))
    assert first.task.run(1).changes == ()  # new: nothing to compare with
    second = make_module("changes_mod", source.format(rate=3))
    outcome = second.task.run(1)
    assert [c.subject for c in outcome.changes] == ["changes_mod:RATE"]


def test_package_versions_enter_only_when_tracked() -> None:
    def task(x):
        return np.mean(x)

    plain = skipwise.signature(task, [1.0])
    skipwise.configure(track_packages=True)
    tracked = skipwise.cached(task).code()
    assert skipwise.signature(task, [1.0]) != plain
    assert tracked.nodes["external:numpy"].digest == f"numpy=={np.__version__}"


@pytest.mark.parametrize("url", ["file://{tmp}/store", "memory://skipwise-test-{tmp_name}"])
def test_store_urls(url: str, tmp_path: Path) -> None:
    skipwise.configure(store=url.format(tmp=tmp_path, tmp_name=tmp_path.name))

    @skipwise.cached
    def values():
        return np.arange(4)

    first, again = values.run(), values.run()
    assert again.status == "reused" and np.array_equal(first.value, again.value)


def test_str_bytes_and_numpy_round_trip_and_global_pickle() -> None:
    for result in ("text ✓", b"\x00\x01", np.linspace(0, 1, 5)):
        fn = skipwise.cached(lambda r=result: r, name=f"rt.{type(result).__name__}")
        assert fn.run().status == "computed"
        again = fn.run()
        assert again.status == "reused"
        assert (
            np.array_equal(again.value, result)
            if isinstance(result, np.ndarray)
            else again.value == result
        )
    skipwise.configure(allow_pickle=True)
    pair = skipwise.cached(lambda: (1, {2}), name="rt.pair")
    assert pair() == (1, {2}) and pair.run().status == "reused"
