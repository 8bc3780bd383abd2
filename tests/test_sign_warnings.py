"""What signing cannot follow is said at sign time, naming the function and line, once per
process; what it follows by a registration (a pandas accessor) is followed and said."""

from __future__ import annotations

import warnings

import pytest

import skipwise


def _signature_warnings(fn, *args) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        skipwise.signature(fn, *args)
    return [str(w.message) for w in caught if issubclass(w.category, skipwise.SkipwiseWarning)]


def test_subclasses_found_at_run_time_warn(make_module) -> None:
    module = make_module(
        "subsfound",
        """
        class Plugin:
            pass


        def task(x):
            return [p() for p in Plugin.__subclasses__()]
        """,
    )
    with pytest.warns(skipwise.SkipwiseWarning, match=r"__subclasses__\(\) in subsfound:task"):
        skipwise.signature(module.task, 1)
    assert "line 7" in _signature_warnings_once(module.task)


def _signature_warnings_once(fn) -> str:
    """The message given the first time (later signatures in the process stay quiet)."""
    from skipwise import walker

    messages = [m for m in walker._warned if fn.__module__ in m]
    assert len(messages) == 1
    assert _signature_warnings(fn, 1) == []  # once per process
    return messages[0]


def test_computed_dict_lookup_warns(make_module) -> None:
    module = make_module(
        "dictlookup",
        """
        class Steps:
            def double(self, x):
                return x * 2


        def task(name, x):
            return type(Steps).__dict__[name](Steps(), x)
        """,
    )
    with pytest.warns(
        skipwise.SkipwiseWarning, match=r"line 8: __dict__\[\.\.\.\].*dictlookup:task"
    ):
        skipwise.signature(module.task, "double", 1)


def test_pandas_accessor_is_followed_and_named(make_module) -> None:
    source = """
    import pandas as pd


    @pd.api.extensions.register_dataframe_accessor("geoacc")
    class Geo:
        def __init__(self, frame):
            self.frame = frame

        def area(self):
            return self.frame["w"] * {factor}


    def task(frame):
        return frame.geoacc.area().sum()
    """
    pandas = pytest.importorskip("pandas")
    frame = pandas.DataFrame({"w": [1, 2]})
    module = make_module("accessors", source.format(factor=2))
    with pytest.warns(skipwise.SkipwiseWarning, match=r"\.geoacc.* accessors:task \(line 15\)"):
        before = skipwise.signature(module.task, frame)
    edited = make_module("accessors", source.format(factor=3))
    assert skipwise.signature(edited.task, frame) != before


def test_unhashable_value_warns_once_per_process(make_module) -> None:
    module = make_module(
        "lockheld",
        """
        import threading


        def make():
            guard = threading.Lock()

            def task(x):
                with guard:
                    return x
            return task


        task = make()
        """,
    )
    with pytest.warns(skipwise.SkipwiseWarning, match=r"lockheld:make.*guard holds _thread.lock"):
        skipwise.signature(module.task, 1)
    assert _signature_warnings(module.task, 1) == []


def test_a_lock_in_a_class_attribute_is_hashed_by_its_statement(make_module) -> None:
    source = """
    import threading


    class Pool:
        _guard = threading.{kind}()
        size = 2

        def run(self, x):
            with self._guard:
                return x * self.size


    def task(x):
        return Pool().run(x)
    """
    module = make_module("classlock", source.format(kind="Lock"))
    assert _signature_warnings(module.task, 1) == []
    before = skipwise.signature(module.task, 1)
    edited = make_module("classlock", source.format(kind="RLock"))
    assert skipwise.signature(edited.task, 1) != before
