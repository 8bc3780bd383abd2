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
