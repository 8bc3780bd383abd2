"""A root's code graph is the same whatever else was signed before it, and in whatever order.

The walker reuses the closure of everything it reaches inside the closures of what reaches it,
so these cases sign every function of a module alone (with an empty cache), then all together
in several orders, and compare the graphs node by node. The module mixes what makes keys and
closures delicate: recursion and mutual recursion, a class whose methods name the class,
properties, decorators with and without ``functools.wraps``, lambdas and partials bound in
several places, nested functions that call themselves, and a container some code fills and
other code only reads.
"""

from __future__ import annotations

import inspect
import random

import pytest

from skipwise import config, walker
from skipwise.engine import code_graph, signing_pass

SOURCE = """
import functools

RATES = {"eur": 1.1}
_MEMO = {}
shared = lambda x: x + 1
alias = shared
bound = functools.partial(pow, 2)


def logged(fn):
    @functools.wraps(fn)
    def wrapper(*args):
        return fn(*args)
    return wrapper


def bare(fn):
    def inner(*args):
        return fn(*args)
    return inner


class Money:
    unit = "eur"

    def __init__(self, amount):
        self.amount = amount

    @property
    def value(self):
        return self.amount * RATES[self.unit]

    def plus(self, other):
        return Money(self.amount + other.amount)

    @classmethod
    def zero(cls):
        return cls(0)

    def unused(self):
        return shared(self.amount)


def setup():
    RATES.setdefault("usd", 1.0)


def remember(n):
    if n not in _MEMO:
        _MEMO[n] = n * 2
    return _MEMO[n]


def even(n):
    return n == 0 or odd(shared(n) - 2)


def odd(n):
    return n != 0 and even(alias(n) - 2)


@logged
def wrapped(x):
    return alias(x) + bound(x)


@bare
def hidden(x):
    return shared(x) + remember(x)


def counter(limit):
    def step(n):
        return n if n >= limit else step(n + 1)
    return step(0)


def total(x):
    setup()
    return Money(x).plus(Money.zero()).value + RATES["eur"]


def everything(x):
    return total(x) + wrapped(x) + hidden(x) + counter(x) + even(x) + odd(x)
"""


def _fresh_caches() -> None:
    walker._caches.pop(config.boundary(), None)


def _roots(module) -> list[tuple[str, object]]:
    return [
        (name, value)
        for name, value in vars(module).items()
        if not name.startswith("_")
        and (inspect.isfunction(value) or inspect.isclass(value))
        and getattr(value, "__module__", None) == module.__name__
    ]


def _graphs(roots: list[tuple[str, object]]) -> dict[str, dict]:
    with signing_pass():
        return {name: code_graph(root, warn_dynamic=False).to_dict() for name, root in roots}


@pytest.fixture
def module(make_module):
    return make_module("closuremod", SOURCE)


def test_graphs_do_not_depend_on_order_or_on_what_was_signed_before(module) -> None:
    roots = _roots(module)
    alone = {}
    for root in roots:
        _fresh_caches()
        alone.update(_graphs([root]))
    assert len(alone) == len(roots) > 10
    orders = [
        roots,
        roots[::-1],
        *(random.Random(seed).sample(roots, len(roots)) for seed in (1, 2)),
    ]
    for order in orders:
        _fresh_caches()
        assert _graphs(order) == alone


def test_a_reached_closure_is_part_of_the_reaching_one(module) -> None:
    """``everything`` reaches every other function; its graph holds each of their graphs
    (``hidden`` is left out: as a root it is named by its qualname, as reached by its global)."""
    _fresh_caches()
    graphs = _graphs(_roots(module))
    everything = graphs["everything"]["nodes"]
    for name in ("total", "wrapped", "counter", "even", "odd"):
        for key, node in graphs[name]["nodes"].items():
            reached = everything[key]
            assert (reached["kind"], reached["digest"]) == (node["kind"], node["digest"]), key
            assert node.get("refs", {}).items() <= reached.get("refs", {}).items(), key


def test_a_container_some_code_fills_is_state_for_its_readers_too(module, make_module) -> None:
    """``setup`` fills RATES and ``Money.value`` only reads it: both see what import time put
    in it (its statement), so running ``setup`` changes nothing and editing the rates does."""
    _fresh_caches()
    nodes = _graphs([("total", module.total)])["total"]["nodes"]
    assert "closuremod:RATES" not in nodes
    assert nodes["closuremod:RATES#state"]["kind"] == "state"
    before = code_graph(module.total).digest
    module.total(1)  # setup() adds "usd" at run time
    assert "usd" in module.RATES
    assert code_graph(module.total).digest == before
    edited = make_module("closuremod", SOURCE.replace('{"eur": 1.1}', '{"eur": 1.2}'))
    assert code_graph(edited.total).digest != before


def test_members_reached_through_another_closure_are_included(module) -> None:
    """``Money.unused`` is named by nothing ``total`` reaches, ``Money.plus`` is."""
    _fresh_caches()
    nodes = _graphs([("total", module.total)])["total"]["nodes"]
    assert "closuremod:Money.plus" in nodes and "closuremod:Money.value" in nodes
    assert "closuremod:Money.unused" not in nodes
