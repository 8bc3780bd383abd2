"""Retention on every backend: newest N per name, age limit, pinned results always kept."""

from __future__ import annotations

from datetime import timedelta

import pytest

from skipwise import configure
from skipwise.config import current_store
from skipwise.gc import Policy, collect, plan_collection
from tests.stores import workers


@pytest.fixture
def history(store_url: str) -> list[str]:
    """Five results of one name, oldest first (the last is what the name points to), plus a
    DataFrame result of another name."""
    configure(store=store_url)
    signatures = [workers.numbers.run(n).signature for n in range(5)]
    workers.table(10)
    return signatures


def test_keep_latest(history: list[str]) -> None:
    store = current_store()
    report = plan_collection(store, Policy(keep_latest=2))
    assert {m.signature for m in report.drop} == set(history[:3])
    assert len(list(store.manifests())) == 6  # planning removes nothing (dry run)
    collect(store, report)
    assert store.exists_many(history) == set(history[3:])
    assert store.pointer("stores.numbers").signature == history[-1]
    assert workers.numbers.run(4).status == "reused"
    assert workers.table.run(10).status == "reused"
    assert workers.numbers.run(0).status == "computed"


def test_older_than_never_drops_pinned(history: list[str]) -> None:
    store = current_store()
    assert plan_collection(store, Policy(older_than=timedelta(days=1))).drop == []
    report = plan_collection(store, Policy(older_than=timedelta(0)))
    assert {m.signature for m in report.drop} == set(history[:-1])
    collect(store, report)
    assert store.exists_many(history) == {history[-1]}
    assert workers.table.run(10).value.equals(workers.frame(10))
    assert list(store.leftovers(timedelta(0))) == []


def test_bad_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="keep_latest must be at least 1"):
        Policy(keep_latest=0)
    with pytest.raises(ValueError, match="older_than must not be negative"):
        Policy(older_than=timedelta(days=-1))
