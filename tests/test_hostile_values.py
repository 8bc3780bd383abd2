"""Values whose classes answer attribute lookups themselves are signed without running that
code: no endless recursion, no side effects, the same signature in every process.

pygments' token types are the real case: ``tuple`` subclasses with a parent link, a set of
children and a ``__getattr__`` that creates (and keeps) a child token for an upper-case name.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import textwrap
import typing
from collections.abc import Callable
from pathlib import Path

import pytest
from pygments import token as pygments_token

import skipwise
from skipwise.engine import code_graph
from skipwise.errors import ArgumentError
from skipwise.values import MAX_DEPTH, ValueHasher


def echo(value):
    return value


def token_tree(root: tuple) -> dict[tuple, tuple[int, frozenset]]:
    """Every token type under ``root`` with what it stores: a change anywhere shows."""
    found, stack = {}, [root]
    while stack:
        node = stack.pop()
        found[tuple(node)] = (id(node), frozenset(vars(node)))
        stack.extend(node.subtypes)
    return found


class TokenType(tuple):
    """A replica of pygments' ``_TokenType`` that creates a child for *any* name asked for."""

    parent = None

    def __init__(self, *args):
        self.subtypes = set()

    def __getattr__(self, name):
        new = TokenType((*self, name))
        setattr(self, name, new)
        self.subtypes.add(new)
        new.parent = self
        return new

    def __repr__(self):
        return "Token" + "".join("." + part for part in self)


@dataclasses.dataclass
class Counted:
    """Counts every attribute lookup that reaches its own code."""

    value: int
    calls: typing.ClassVar[int] = 0

    def __getattr__(self, name):
        Counted.calls += 1
        return 1

    def __getattribute__(self, name):
        Counted.calls += 1
        return object.__getattribute__(self, name)


class Lazy:
    """A library's proxy that answers any name (and counts in the same place)."""

    __module__ = "json"  # not user code: hashed like a library's object

    def __init__(self, value):
        self.value = value

    __getattr__ = Counted.__getattr__
    __getattribute__ = Counted.__getattribute__


class Raising:
    """No content hasher is registered for it: refused as an argument, by name."""

    def __init__(self, value):
        self.value = value

    def __getattr__(self, name):
        raise RuntimeError(f"asked for {name}")


def replica() -> TokenType:
    root = TokenType()
    # Built without __getattr__, as the library builds its tree on import.
    for name in ("Keyword", "Name", "Literal"):
        child = TokenType((name,))
        child.parent = root
        root.subtypes.add(child)
        object.__setattr__(root, name, child)
    return root


def test_pygments_tokens_as_arguments_sign_without_changing_the_library() -> None:
    before = token_tree(pygments_token.Token)
    keyword = echo_cached.signature(pygments_token.Keyword)
    assert keyword == echo_cached.signature(pygments_token.Keyword)
    assert keyword != echo_cached.signature(pygments_token.Name)
    assert echo_cached.signature(pygments_token.Keyword.Constant) != keyword
    assert token_tree(pygments_token.Token) == before


def test_a_replica_that_creates_a_child_for_any_name_stays_as_it_was() -> None:
    root = replica()
    before = token_tree(root)
    first = echo_cached.signature(root.Keyword)  # type: ignore[attr-defined]
    assert first == echo_cached.signature(root.Keyword)  # type: ignore[attr-defined]
    assert first != echo_cached.signature(root.Name)  # type: ignore[attr-defined]
    assert token_tree(root) == before


def test_attribute_hooks_are_never_called() -> None:
    Counted.calls = 0
    first = echo_cached.signature(Counted(1))
    assert first == echo_cached.signature(Counted(1))
    assert first != echo_cached.signature(Counted(2))
    assert Counted.calls == 0
    with pytest.raises(ArgumentError, match=r"argument 'value' of type tests\.test_hostile_"):
        echo_cached.signature(Raising(1))


def test_as_defaults_and_module_constants(make_module: Callable[..., object]) -> None:
    module = make_module(
        "hostile_constants",
        """
        from pygments.token import Keyword, Name
        from tests.test_hostile_values import Counted, Raising, replica

        TOKENS = replica()
        KEYWORD = Keyword
        COUNTED = Counted(3)
        RAISING = Raising(4)


        def task(x, kind=Name.Builtin, root=TOKENS):
            return (x, kind, KEYWORD, COUNTED.value, RAISING.value, root)
        """,
    )
    Counted.calls = 0
    before = token_tree(pygments_token.Token), token_tree(module.TOKENS)  # type: ignore[attr-defined]
    first = skipwise.signature(module.task, 1)  # type: ignore[attr-defined]
    assert skipwise.signature(module.task, 1) == first  # type: ignore[attr-defined]
    assert (token_tree(pygments_token.Token), token_tree(module.TOKENS)) == before  # type: ignore[attr-defined]
    assert Counted.calls == 0
    module.COUNTED.value = 5  # type: ignore[attr-defined]
    assert skipwise.signature(module.task, 1) != first  # type: ignore[attr-defined]
    assert Counted.calls == 0


class Pairs(tuple):
    """Iterating it has a side effect; its value is what the tuple holds."""

    def __iter__(self):
        Counted.calls += 1
        return super().__iter__()

    def __str__(self):
        Counted.calls += 1
        return "pairs"


def test_builtin_subclasses_are_read_as_the_builtin_holds_them() -> None:
    Counted.calls = 0
    first = echo_cached.signature(Pairs((1, 2)))
    assert first != echo_cached.signature(Pairs((1, 3)))
    assert first != echo_cached.signature((1, 2))  # the type counts too
    assert Counted.calls == 0


def test_library_objects_that_answer_any_name_are_hashed_by_what_they_store() -> None:
    """A library's object goes by its reduction, which would ask ``__getnewargs_ex__``."""
    Counted.calls = 0
    hasher = ValueHasher(strict=False, code_ref=lambda o, p: None, is_user_type=lambda t: False)
    first = hasher.digest(Lazy(1))
    assert first != hasher.digest(Lazy(2))
    assert hasher.opaque == [] and Counted.calls == 0


def test_a_value_that_holds_its_container_is_hashed_by_a_reference_to_it() -> None:
    loop: list = [1]
    loop.append(loop)
    other: list = [2]
    other.append(other)
    assert echo_cached.signature(loop) == echo_cached.signature(loop)
    assert echo_cached.signature(loop) != echo_cached.signature(other)
    assert echo_cached.signature(loop) != echo_cached.signature([1, [1]])


def nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


def test_too_deep_constant_is_named_and_hashed_by_its_statement(
    make_module: Callable[..., object],
) -> None:
    module = make_module(
        "deep_constant",
        f"""
        from tests.test_hostile_values import nested

        DEEP = nested({MAX_DEPTH * 3})
        globals()["UNBOUND"] = nested({MAX_DEPTH * 3})  # no statement binds it by name


        def task(x):
            return x, DEEP


        def other(x):
            return x, UNBOUND
        """,
    )
    first = skipwise.signature(module.task, 1)  # type: ignore[attr-defined]
    assert first == skipwise.signature(module.task, 1)  # type: ignore[attr-defined]
    graph = code_graph(module.task)  # type: ignore[attr-defined]
    assert graph.source("deep_constant:DEEP") == f"DEEP = nested({MAX_DEPTH * 3})\n"
    warnings = code_graph(module.other).warnings  # type: ignore[attr-defined]
    assert any(
        w.startswith("deep_constant:UNBOUND holds list nested more than") and "(at " in w
        for w in warnings
    ), warnings
    with pytest.raises(ArgumentError, match=r"argument 'value' of type list nested more than"):
        echo_cached.signature(nested(MAX_DEPTH * 3))


def test_token_signatures_agree_across_processes(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import sys
        sys.path.insert(0, sys.argv[1])
        import skipwise
        from pygments.token import Keyword
        from tests.test_hostile_values import echo
        print(skipwise.signature(echo, Keyword.Constant))
        """
    )
    root = Path(__file__).resolve().parent.parent
    runs = [
        subprocess.run(
            [sys.executable, "-c", script, str(root)],
            env={**os.environ, "PYTHONHASHSEED": seed, "SKIPWISE_STORE": str(tmp_path)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    ]
    assert runs[0] == runs[1] and len(runs[0].strip()) == 64


echo_cached = skipwise.cached(echo)
