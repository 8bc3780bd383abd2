"""The walker's cache never hides a change made in the running process.

Each case signs once (filling the cache), changes something the signature depends on without
reloading anything, and checks that the next signature differs; undoing the change restores it.
"""

from __future__ import annotations

import functools

import pytest

import skipwise

SOURCE = """
import functools

LIMITS = [1, 2]
TABLE = {"a": 1}
SCALE = 2


class Model:
    rate = 3

    def __init__(self, k):
        self.k = k

    def apply(self, x):
        return x * self.k * self.rate


MODEL = Model(2)


def helper(x):
    return x + 1


def other(x):
    return x - 1


def pick(values, extra=[0]):
    return values + extra


def make_counter(step):
    def count(x):
        return x + step
    def set_step(value):
        nonlocal step
        step = value
    return count, set_step


count, set_step = make_counter(1)
bound = functools.partial(pick, [5])


def task(x):
    return (helper(x) + sum(LIMITS) + TABLE["a"] + SCALE + MODEL.apply(x) + count(x)
            + sum(pick([x])) + sum(bound()) + later(x))
"""


@pytest.fixture
def module(make_module):
    return make_module("cachemod", SOURCE)


def sig(module) -> str:
    return skipwise.signature(module.task, 1)


def changes(module, mutate, undo=None) -> None:
    before = sig(module)
    assert sig(module) == before  # warm and unchanged
    mutate()
    assert sig(module) != before
    if undo is not None:
        undo()
        assert sig(module) == before


def test_rebinding_a_global_function(module) -> None:
    original = module.helper
    changes(
        module,
        lambda: setattr(module, "helper", module.other),
        lambda: setattr(module, "helper", original),
    )


def test_mutating_a_global_list_and_dict(module) -> None:
    changes(module, lambda: module.LIMITS.append(3), lambda: module.LIMITS.pop())
    changes(module, lambda: module.TABLE.update(a=2), lambda: module.TABLE.update(a=1))


def test_rebinding_a_global_constant(module) -> None:
    changes(module, lambda: setattr(module, "SCALE", 3), lambda: setattr(module, "SCALE", 2))


def test_replacing_code_and_defaults(module) -> None:
    code = module.helper.__code__
    changes(
        module,
        lambda: setattr(module.helper, "__code__", module.other.__code__),
        lambda: setattr(module.helper, "__code__", code),
    )
    defaults = module.pick.__defaults__
    changes(
        module,
        lambda: setattr(module.pick, "__defaults__", ([9],)),
        lambda: setattr(module.pick, "__defaults__", defaults),
    )
    changes(
        module,
        lambda: module.pick.__defaults__[0].append(1),
        lambda: module.pick.__defaults__[0].pop(),
    )


def test_rebinding_a_closure_cell(module) -> None:
    changes(module, lambda: module.set_step(5), lambda: module.set_step(1))


def test_classes_methods_and_instances(module) -> None:
    apply = module.Model.apply
    changes(
        module,
        lambda: setattr(module.Model, "apply", lambda self, x: x),
        lambda: setattr(module.Model, "apply", apply),
    )
    changes(
        module, lambda: setattr(module.Model, "rate", 4), lambda: setattr(module.Model, "rate", 3)
    )
    changes(module, lambda: setattr(module.MODEL, "k", 5), lambda: setattr(module.MODEL, "k", 2))
    before = sig(module)
    module.Model.unused_attribute = 1  # no reachable code names it: not part of the signature
    assert sig(module) == before
    del module.Model.unused_attribute


def test_partial_arguments_mutated(module) -> None:
    changes(module, lambda: module.bound.args[0].append(6), lambda: module.bound.args[0].pop())


def test_defining_a_missing_name(module) -> None:
    changes(
        module, lambda: setattr(module, "later", module.helper), lambda: delattr(module, "later")
    )


def test_module_attribute_chain(make_module) -> None:
    make_module("chainlib", "VALUE = 1\n\ndef f(x):\n    return x + VALUE\n")
    user = make_module("chainuser", "import chainlib\n\ndef task(x):\n    return chainlib.f(x)\n")
    lib = __import__("chainlib")
    before = skipwise.signature(user.task, 1)
    lib.VALUE = 2
    assert skipwise.signature(user.task, 1) != before
    lib.VALUE = 1
    lib.f = functools.partial(lib.f)
    assert skipwise.signature(user.task, 1) != before


def test_batch_signing_does_not_depend_on_what_else_was_signed(make_module) -> None:
    module = make_module(
        "batchmod",
        """
        shared = lambda x: x + 1

        def first(x):
            alias = shared
            return alias(x)

        def second(x):
            return shared(x)
        """,
    )
    alone = skipwise.signature(module.second, 1)
    skipwise.signature(module.first, 1)
    assert skipwise.signature(module.second, 1) == alone


def test_a_container_bound_after_a_pass_is_seen_as_written(make_module) -> None:
    """Which modules bind a value is read again each pass: a list created after a pass and
    handed to a module whose function fills it, without any import, is state from then on
    (filling it does not change the signature)."""
    first = make_module(
        "boundfirst",
        """
        ITEMS = [1]

        def task(x):
            return x + len(ITEMS)

        def later(x):
            return x + len(LATER)
        """,
    )
    second = make_module(
        "boundsecond",
        """
        def push(v):
            if v not in SHARED:
                SHARED.append(v)
        """,
    )
    signed = skipwise.signature(first.task, 1)  # reads which modules bind ITEMS
    assert skipwise.signature(first.task, 1) == signed
    first.LATER = second.SHARED = []
    before = skipwise.signature(first.later, 1)
    second.push(5)
    assert skipwise.signature(first.later, 1) == before
