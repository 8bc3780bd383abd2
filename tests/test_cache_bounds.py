"""A long-lived process that signs code it then drops (a server re-importing DAG files, a
notebook) does not keep that code alive, and the walker's process-wide caches stay bounded."""

from __future__ import annotations

import gc
import sys
import types
import warnings
import weakref
from pathlib import Path

import pytest

from skipwise import boundary as boundary_module
from skipwise import facts, source, walker
from skipwise.boundary import Boundary
from skipwise.memo import trim

# Everything that fills a cache: functions, a class, constants, state, an unbound name (a
# marker), a dynamic call (a warning, and a source file parsed), a value hashed by the
# statement that binds it (a source file parsed).
SOURCE = """
import math
import threading

RATES = {"eur": 1.1}
SEEN = []
LOCK = threading.Lock()


class Model:
    def apply(self, x):
        return x * RATES["eur"]


def helper(x):
    return math.sqrt(x) + len(SEEN)


def run(x, name="apply"):
    SEEN.append(x)
    with LOCK:
        return helper(x) + getattr(Model(), name)(x) + not_defined_yet(x)
"""

LIMIT = 8
MODULES = 40


@pytest.fixture
def boundary(monkeypatch: pytest.MonkeyPatch) -> Boundary:
    """A boundary of its own, with every bounded cache made small."""
    monkeypatch.setattr(walker, "CACHE_LIMIT", LIMIT)
    monkeypatch.setattr(walker, "_WARNINGS", LIMIT)
    monkeypatch.setattr(source, "_FILES", LIMIT)
    monkeypatch.setattr(facts, "_CODES", LIMIT)
    monkeypatch.setattr(boundary_module, "_MODULE_NAMES", LIMIT)
    return Boundary()


def _throwaway(folder: Path, index: int) -> types.ModuleType:
    """A module made with exec in a fresh module object, as user code (a file on disk)."""
    name = f"skipwise_throwaway_{index}"
    path = folder / f"{name}.py"
    path.write_text(SOURCE)
    module = types.ModuleType(name)
    module.__file__ = str(path)
    sys.modules[name] = module
    exec(compile(SOURCE, str(path), "exec"), vars(module))
    return module


def _sign(boundary: Boundary, module: types.ModuleType) -> set[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graph = walker.Walker(boundary).graph(module.run, f"{module.__name__}:run")
    return set(graph.nodes)


def test_signing_throwaway_modules_keeps_neither_them_nor_more_than_the_bound(
    tmp_path: Path, boundary: Boundary
) -> None:
    refs: list[tuple[weakref.ref, ...]] = []
    for index in range(MODULES):
        module = _throwaway(tmp_path, index)
        nodes = _sign(boundary, module)
        assert {f"{module.__name__}:helper", f"{module.__name__}:Model"} <= nodes  # walked
        refs.append((weakref.ref(module), weakref.ref(module.run), weakref.ref(module.Model)))
        del sys.modules[module.__name__]
        del module
    walker.new_epoch(boundary)  # a pass starts: the walker's caches come back within bounds
    gc.collect()

    alive = [i for i, group in enumerate(refs) if any(ref() is not None for ref in group)]
    # Only the most recently signed can still be cached: at most one per cached entry or closure.
    assert all(i >= MODULES - 2 * LIMIT for i in alive), alive
    cache = walker._caches[boundary]
    assert len(cache.entries) <= LIMIT and len(cache.closures) <= LIMIT
    assert len(walker._warned) <= LIMIT
    assert len(source._cache) <= LIMIT
    assert len(boundary._cache) <= LIMIT
    assert len(facts._facts) <= LIMIT
    # Markers go with the entries that use them.
    throwaway_markers = [key for key in walker._markers if "skipwise_throwaway_" in key]
    assert len(throwaway_markers) <= len(alive)


def test_once_the_caches_move_on_nothing_of_the_throwaway_code_is_left(
    tmp_path: Path, boundary: Boundary
) -> None:
    module = _throwaway(tmp_path, MODULES)
    _sign(boundary, module)
    refs = [weakref.ref(module), weakref.ref(module.run), weakref.ref(module.run.__code__)]
    del sys.modules[module.__name__]
    del module
    for index in range(LIMIT):  # other code signed later pushes it out
        other = _throwaway(tmp_path, MODULES + 1 + index)
        _sign(boundary, other)
        del sys.modules[other.__name__]
        del other
    walker.new_epoch(boundary)
    gc.collect()
    assert [ref() for ref in refs] == [None, None, None]


def test_trim_drops_the_oldest() -> None:
    table = dict.fromkeys("abcde", 0)
    trim(table, 2)
    assert table == {"d": 0, "e": 0}
    trim(table, 5)
    assert table == {"d": 0, "e": 0}


def test_facts_tell_equal_code_apart() -> None:
    def compiled() -> types.CodeType:
        namespace: dict = {}
        exec("def f(x):\n    return x + 1\n", namespace)
        return namespace["f"].__code__

    first, second = compiled(), compiled()
    assert first == second and first is not second  # equal, yet each module's own function
    one = facts.function_facts(first, {"__name__": "one"})
    other = facts.function_facts(second, {"__name__": "other"})
    assert (one.location, other.location) == ("one:1", "other:1")


def test_an_index_of_run_time_writes_lives_no_longer_than_its_boundary() -> None:
    from skipwise import writes

    before = len(writes._current)
    for _ in range(5):  # e.g. configure(external=...) called again and again
        writes.current(Boundary())
    gc.collect()
    assert len(writes._current) == before
