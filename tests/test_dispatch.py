"""Names computed from a literal prefix (``getattr(self, f"_on_{kind}")``): every member or
module attribute with the prefix is in the graph, and the warning stays; without a prefix only
the warning."""

from __future__ import annotations

import pytest

import skipwise
from skipwise.engine import code_graph

HANDLERS = """
import sys


class Handler:
    def handle(self, kind):
        return getattr(self, {name})()

    def _on_csv(self):
        return 1

    def _on_json(self):
        return 2

    def other(self):
        return 3


def load_csv():
    return 4


def helper():
    return 5


def by_module(kind):
    return getattr(sys.modules[__name__], f"load_{{kind}}")()


def by_globals(kind):
    return globals()[f"load_{{kind}}"]()


def task(kind):
    return Handler().handle(kind)
"""


FORMS = ['f"_on_{kind}"', '"_on_" + kind', '"_on_%s" % kind', '"_on_{}".format(kind)']


@pytest.mark.parametrize("form", range(len(FORMS)), ids=FORMS)
def test_members_with_the_prefix_count(make_module, form: int) -> None:
    # A module name per form: each warning is given once per process.
    name = f"prefixed{form}"
    module = make_module(name, HANDLERS.format(name=FORMS[form]))
    with pytest.warns(skipwise.SkipwiseWarning, match=r"names starting '_on_' are included"):
        graph = code_graph(module.task)
    assert {f"{name}:Handler._on_csv", f"{name}:Handler._on_json"} <= set(graph.nodes)
    assert f"{name}:Handler.other" not in graph.nodes


@pytest.mark.parametrize("root", ["by_module", "by_globals"])
def test_module_attributes_with_the_prefix_count(make_module, root: str) -> None:
    module = make_module("prefixed_module", HANDLERS.format(name='f"_on_{kind}"'))
    with pytest.warns(skipwise.SkipwiseWarning, match=r"names starting 'load_' are included"):
        graph = code_graph(getattr(module, root))
    assert "prefixed_module:load_csv" in graph.nodes
    assert "prefixed_module:helper" not in graph.nodes


def test_a_name_without_a_literal_prefix_only_warns(make_module) -> None:
    module = make_module("unprefixed", HANDLERS.format(name="kind"))
    with pytest.warns(skipwise.SkipwiseWarning, match=r"getattr\(\) with a computed name in"):
        graph = code_graph(module.task)
    assert "unprefixed:Handler._on_csv" not in graph.nodes


def test_a_new_prefixed_module_attribute_is_seen(make_module) -> None:
    module = make_module("growing", HANDLERS.format(name='f"_on_{kind}"'))
    with pytest.warns(skipwise.SkipwiseWarning):
        before = code_graph(module.by_module).digest
        module.load_json = lambda: 6  # registered later, at run time: dispatchable too
        assert code_graph(module.by_module).digest != before
