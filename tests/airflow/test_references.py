"""How references to the parts of a result (what a task pushes when a mapped task expands over
it, or with ``multiple_outputs``) are read back: all of them, as pushed, stand for the whole
result (signed as one ``Ref``); any other selection stays one ``Ref`` per part."""

from __future__ import annotations

import pytest

from skipwise.airflow.reference import (
    as_refs,
    load,
    part_references,
    pushed_reference,
    reference,
    store_at,
)
from skipwise.host import Ref, Step, StepOptions


def numbers() -> list[int]:
    return [10, 20, 30]


def table() -> dict[str, int]:
    return {"a": 1, "b": 2}


@pytest.fixture
def stored() -> dict[str, dict]:
    """The references the tasks running ``numbers`` and ``table`` would push."""
    step = {fn: Step(fn, StepOptions(name=fn.__name__)) for fn in (numbers, table)}
    return {fn.__name__: reference(step.run(), step.store()) for fn, step in step.items()}


def ref(reference: dict, item: str | int | None = None) -> Ref:
    return Ref(reference["signature"], store_at(reference), item)


def test_every_part_as_pushed_stands_for_the_whole_result(stored: dict[str, dict]) -> None:
    listed = part_references(stored["numbers"], [0, 1, 2])
    assert [(p["item"], p["parts"]) for p in listed] == [(0, 3), (1, 3), (2, 3)]
    keyed = part_references(stored["table"], ["a", "b"])
    assert list(keyed) == ["a", "b"]
    for parts, name in ((listed, "numbers"), (keyed, "table")):
        assert pushed_reference(parts) == stored[name]
        assert as_refs(parts) == as_refs(stored[name]) == ref(stored[name])
    # A dict read back in another key order (a JSONB column sorts keys) is still the whole.
    assert pushed_reference(dict(reversed(keyed.items()))) == stored["table"]
    assert load(listed) == [10, 20, 30]
    assert load(keyed) == {"a": 1, "b": 2}


def test_a_selection_of_parts_stays_one_ref_per_part(stored: dict[str, dict]) -> None:
    listed = part_references(stored["numbers"], [0, 1, 2])
    for selection in (listed[:2], listed[::-1], [listed[0], listed[0], listed[2]]):
        assert pushed_reference(selection) is None
        assert as_refs(selection) == [ref(stored["numbers"], p["item"]) for p in selection]
    assert load(listed[::-1]) == [30, 20, 10]
    assert as_refs(listed[1]) == ref(stored["numbers"], 1)  # what one map index receives
    keyed = part_references(stored["table"], ["a", "b"])
    assert as_refs({"a": keyed["a"]}) == {"a": ref(stored["table"], "a")}
    # Parts of two results, or of one result in two runs, are not a whole either.
    other = part_references({**stored["numbers"], "status": "reused"}, [0, 1, 2])
    assert pushed_reference([listed[0], other[1], listed[2]]) is None


def test_load_names_what_is_no_reference() -> None:
    for value in ({"a": 1}, [1, 2], [], 3):
        with pytest.raises(TypeError, match="not a skipwise result reference"):
            load(value)
