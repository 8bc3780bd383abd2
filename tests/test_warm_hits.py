"""Warm hits check what can have changed, not every function reached (``skipwise.watch``).

Each case signs until the root's stamp is taken (the fast path), changes something the
signature depends on without reloading, and checks that the next signature sees it; undoing
the change restores the signature. A notebook's redefinitions are run in a fresh interpreter,
as cells executed in ``__main__``."""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import skipwise
from skipwise import config, walker, watch

SOURCE = """
import functools

FACTOR = 2
REGISTRY = {"a": 1}


class Base:
    def scale(self, x):
        return x * 2


class Other:
    def scale(self, x):
        return x * 3


class Model(Base):
    pass


def helper(x, k=1):
    return x + k


def annotated(x: int) -> int:
    return x


def task(x):
    return helper(x) * FACTOR + REGISTRY["a"] + Model().scale(x) + annotated(x)
"""


@pytest.fixture
def module(make_module):
    return make_module("warmmod", SOURCE)


def _stamped(module) -> str:
    """The signature, once the root's closure holds a stamp (so the next check is by it)."""
    first = skipwise.signature(module.task, 1)
    assert skipwise.signature(module.task, 1) == first
    closures = walker._caches[config.boundary()].closures.values()
    root = next(c for c in closures if c.root is module.task)
    assert root.stamp is not None and root.stamp.holds()
    return first


def sees(module, change, undo) -> None:
    before = _stamped(module)
    change()
    assert skipwise.signature(module.task, 1) != before
    undo()
    assert skipwise.signature(module.task, 1) == before


def test_stamps_are_available_here() -> None:
    assert watch.available()  # CPython with dict version tags: the fast path is what runs


def test_a_rebound_global_and_constant(module) -> None:
    helper = module.helper
    sees(
        module,
        lambda: setattr(module, "helper", lambda x: x),
        lambda: setattr(module, "helper", helper),
    )
    sees(module, lambda: setattr(module, "FACTOR", 2.0), lambda: setattr(module, "FACTOR", 2))


def test_a_mutated_container(module) -> None:
    sees(module, lambda: module.REGISTRY.update(a=2), lambda: module.REGISTRY.update(a=1))


def test_code_and_defaults_assigned(module) -> None:
    code, defaults = module.helper.__code__, module.helper.__defaults__
    other = module.annotated.__code__
    sees(
        module,
        lambda: setattr(module.helper, "__code__", (lambda x, k=1: x - k).__code__),
        lambda: setattr(module.helper, "__code__", code),
    )
    sees(
        module,
        lambda: setattr(module.helper, "__defaults__", (5,)),
        lambda: setattr(module.helper, "__defaults__", defaults),
    )
    sees(
        module,
        lambda: delattr(module.helper, "__defaults__"),
        lambda: setattr(module.helper, "__defaults__", defaults),
    )
    assert other is module.annotated.__code__


def test_attributes_and_annotations_written(module) -> None:
    sees(
        module,
        lambda: setattr(module.helper, "tag", "v2"),  # its first attribute
        lambda: delattr(module.helper, "tag"),
    )
    sees(
        module,
        lambda: module.annotated.__annotations__.update(x=float),
        lambda: module.annotated.__annotations__.update(x=int),
    )


def test_a_class_changed(module) -> None:
    sees(
        module,
        lambda: setattr(module.Model, "scale", lambda self, x: x),
        lambda: delattr(module.Model, "scale"),
    )
    sees(
        module,
        lambda: setattr(module.Model, "__bases__", (module.Other,)),
        lambda: setattr(module.Model, "__bases__", (module.Base,)),
    )


def test_a_module_executed_again(module, tmp_path: Path) -> None:
    before = _stamped(module)
    path = Path(module.__file__)
    path.write_text(SOURCE.replace("FACTOR = 2", "FACTOR = 3"))
    importlib.reload(module)  # the same module's namespace, every name bound again
    assert skipwise.signature(module.task, 1) != before
    path.write_text(SOURCE)
    importlib.reload(module)
    assert skipwise.signature(module.task, 1) == before


def test_the_full_checks_run_where_stamps_are_not_available(
    module, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(watch, "_OFFSET", None)
    before = skipwise.signature(module.task, 1)
    assert skipwise.signature(module.task, 1) == before
    module.FACTOR = 3
    assert skipwise.signature(module.task, 1) != before


NOTEBOOK = '''
import sys, __main__
import skipwise

def cell(source):
    exec(source, __main__.__dict__)

cell("""
RATE = 2

def helper(x):
    return x * RATE

@skipwise.cached
def step(x):
    return helper(x) + 1
""")
statuses = []
for _ in range(3):
    statuses.append(step.run(1).status.value)  # computed, then warm hits
cell("def helper(x):\\n    return x * RATE + 0.5\\n")  # the cell defining helper, edited
statuses.append(step.run(1).status.value)
statuses.append(step.run(1).status.value)
cell("RATE = 3")
statuses.append(step.run(1).status.value)
cell("RATE = 3")  # run again unchanged
statuses.append(step.run(1).status.value)
print(" ".join(statuses), step(1))
'''


def test_notebook_redefinitions_are_seen(tmp_path: Path) -> None:
    script = tmp_path / "notebook.py"
    script.write_text(textwrap.dedent(NOTEBOOK))
    result = subprocess.run(
        [sys.executable, "-c", script.read_text()],
        capture_output=True,
        text=True,
        env={"SKIPWISE_STORE": str(tmp_path / "store"), "SKIPWISE_QUIET": "1", "PATH": ""},
        cwd=tmp_path,
        check=True,
    )
    assert result.stdout.split() == [
        "computed",
        "reused",
        "reused",
        "computed",
        "reused",
        "computed",
        "reused",
        "4.5",
    ]
