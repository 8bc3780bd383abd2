"""Property tests for typed value hashing: equal values agree, different values differ."""

from __future__ import annotations

import copy
import os
import subprocess
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from skipwise.values import ValueHasher


def digest(value: object) -> str:
    hasher = ValueHasher(strict=True, code_ref=lambda o, p: None, is_user_type=lambda t: False)
    return hasher.digest(value)


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=8),
    st.binary(max_size=8),
)
hashable = st.recursive(
    scalars, lambda inner: st.tuples(inner, inner) | st.frozensets(inner, max_size=3), max_leaves=8
)
values = st.recursive(
    hashable,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=4), inner, max_size=4)
        | st.sets(hashable, max_size=4)
    ),
    max_leaves=20,
)


def typed(value: object) -> object:
    """A structure equal exactly when the values are equal *and* of the same types."""
    if isinstance(value, list | tuple):
        return (type(value).__name__, tuple(typed(v) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple((typed(k), typed(v)) for k, v in value.items()))
    if isinstance(value, set | frozenset):
        return (type(value).__name__, frozenset(typed(v) for v in value))
    if isinstance(value, float):
        return ("float", value.hex())
    return (type(value).__name__, value)


@given(values)
def test_equal_values_have_equal_digests(value: object) -> None:
    assert digest(value) == digest(copy.deepcopy(value))


@given(values, values)
@settings(max_examples=300)
def test_different_values_have_different_digests(a: object, b: object) -> None:
    if typed(a) != typed(b):
        assert digest(a) != digest(b)
    else:
        assert digest(a) == digest(b)


@given(st.lists(st.text(max_size=5), max_size=8))
def test_set_digest_ignores_order(items: list[str]) -> None:
    assert digest(set(items)) == digest(set(reversed(items)))


def test_digests_agree_across_processes_and_hash_seeds() -> None:
    program = (
        "from skipwise.values import ValueHasher as H;"
        "h = H(strict=True, code_ref=lambda o, p: None, is_user_type=lambda t: False);"
        "print(h.digest([{'b', 'a', 'c'}, frozenset({('x', 1), ('y', 2)}), {'k': 1.5}]))"
    )
    outputs = set()
    for seed in ("1", "2", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [sys.executable, "-c", program], env=env, capture_output=True, text=True, check=True
        )
        outputs.add(result.stdout.strip())
    assert len(outputs) == 1, outputs
    assert len(outputs.pop()) == 64
