"""A read-only store serves hits, computes misses without writing, and says so once."""

from __future__ import annotations

import warnings

import pytest

from skipwise import SkipwiseWarning, StoreError, configure
from skipwise.config import current_store
from skipwise.store import open_store
from tests.stores import workers


def test_hits_served_misses_not_written(store_url: str) -> None:
    configure(store=store_url)
    workers.numbers(1)
    workers.table(20)
    before = {m.signature for m in current_store().manifests()}

    configure(read_only=True)
    store = current_store()
    assert store.read_only
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert workers.numbers.run(1).status == "reused"
        assert workers.table.run(20).value.equals(workers.frame(20))
        misses = [workers.numbers.run(n) for n in (2, 3, 2)]
    assert [m.status for m in misses] == ["computed"] * 3
    assert misses[0].value == {"n": 2, "squares": [0, 1]}
    read_only_warnings = [w for w in caught if issubclass(w.category, SkipwiseWarning)]
    assert len(read_only_warnings) == 1
    assert "read-only" in str(read_only_warnings[0].message)
    assert store.url in str(read_only_warnings[0].message)
    assert {m.signature for m in store.manifests()} == before

    with pytest.raises(StoreError, match="read-only"):
        store.save("cd" * 32, [1], codec="json", name="x", tree={}, producer={})
    with pytest.raises(StoreError, match="read-only"):
        store.delete(next(iter(before)))
    assert open_store(store_url).exists_many(before) == before


def test_read_only_from_environment(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    configure(store=store_url)
    workers.numbers(1)
    monkeypatch.setenv("SKIPWISE_READ_ONLY", "1")
    with pytest.warns(SkipwiseWarning, match="read-only"):
        assert workers.numbers.run(9).status == "computed"
    assert workers.numbers.run(1).status == "reused"
    assert not current_store().exists(workers.numbers.signature(9))
