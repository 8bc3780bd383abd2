"""A ``Ref`` to one item of a stored result (what Airflow's ``multiple_outputs`` and Dagster's
multi-assets pass on), and the result's keys a hit reads without loading the data."""

from __future__ import annotations

import pytest

from skipwise import config
from skipwise.host import Ref, Step, StepOptions
from skipwise.store import FilesystemStore


def parts(n: int = 3) -> dict[str, list[int]]:
    return {"even": list(range(0, n, 2)), "odd": list(range(1, n, 2))}


def pair() -> tuple[int, str]:
    return 1, "one"


def test_an_item_loads_its_part_and_is_signed_by_it() -> None:
    outcome = Step(parts, StepOptions(name="parts")).run()
    whole, even, odd = (Ref(outcome.signature, item=i) for i in (None, "even", "odd"))
    assert even.load() == [0, 2] and odd.load() == [1]
    keys = {ref.lineage().key for ref in (whole, even, odd)}
    assert len(keys) == 3  # each part and the whole sign differently
    assert even.lineage().key.startswith(whole.lineage().key)  # and change with the whole
    with pytest.raises(LookupError, match="has no item 'none'"):
        Ref(outcome.signature, item="none").load()


def test_result_keys_on_a_hit_come_from_the_stored_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    for fn, keys in ((parts, ["even", "odd"]), (pair, [0, 1]), (list, None)):
        step = Step(fn, StepOptions(name=fn.__name__))
        assert step.result_keys(step.run()) == keys
        hit = step.run(load=False)
        assert hit.status == "reused"
        with monkeypatch.context() as patched:
            patched.setattr(FilesystemStore, "load", lambda *_: pytest.fail("data was read"))
            assert step.result_keys(hit) == keys
    assert config.current_store().tree(hit.manifest)["result_keys"] is None


def three() -> list[str]:
    return ["a", "b", "c"]


def test_what_a_host_maps_over_on_a_hit_comes_from_the_stored_tree(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``lists=True``: a list's indices too (a mapped Airflow task's elements); a result that
    is no collection has none."""
    for fn, args, keys in (
        (three, (), [0, 1, 2]),
        (pair, (), [0, 1]),
        (parts, (), ["even", "odd"]),
        (len, ([1, 2],), None),
    ):
        step = Step(fn, StepOptions(name=fn.__name__))
        assert step.result_keys(step.run(args), lists=True) == keys
        hit = step.run(args, load=False)
        assert hit.status == "reused"
        with monkeypatch.context() as patched:
            patched.setattr(FilesystemStore, "load", lambda *_: pytest.fail("data was read"))
            assert step.result_keys(hit, lists=True) == keys


def test_an_entry_stored_without_its_length_is_read_to_find_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    step = Step(three, StepOptions(name="three"))
    step.run()
    hit = step.run(load=False)
    store = step.store()
    tree = store.tree(hit.manifest)
    assert tree["result_length"] == 3
    del tree["result_length"]  # as in entries stored before lengths were recorded
    monkeypatch.setattr(type(store), "tree", lambda self, manifest: tree)
    assert step.result_keys(hit, lists=True) == [0, 1, 2]
