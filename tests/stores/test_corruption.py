"""Damaged entries are detected by their checksum, reported, recomputed and never served."""

from __future__ import annotations

import dataclasses
import json

import pytest

from skipwise import SkipwiseWarning, configure
from skipwise.config import current_store
from skipwise.store import CorruptEntry
from tests.stores import workers
from tests.stores.damage import damage_data, rewrite_manifest

CALLS = {"frame": (workers.table, 300), "json": (workers.numbers, 300)}


def expected(kind: str):
    return (
        workers.frame(300)
        if kind == "frame"
        else {"n": 300, "squares": [i * i for i in range(300)]}
    )


@pytest.mark.parametrize("how", ["truncate", "alter"])
@pytest.mark.parametrize("kind", ["frame", "json"])
def test_damaged_data_is_recomputed(store_url: str, kind: str, how: str) -> None:
    configure(store=store_url)
    function, argument = CALLS[kind]
    first = function.run(argument)
    store = current_store()
    damage_data(store, first.manifest, how)
    with pytest.raises(CorruptEntry, match="fails its checksum"):
        store.load(store.manifest(first.signature))

    with pytest.warns(SkipwiseWarning, match="fails its checksum"):
        again = function.run(argument)
    assert again.status == "computed"
    assert again.reason == "stored result was unusable"
    if kind == "frame":
        assert again.value.equals(expected(kind))
    else:
        assert again.value == expected(kind)
    # The damaged entry was replaced by a good one.
    assert function.run(argument).status == "reused"
    assert len(list(store.manifests())) == 1


def test_damaged_manifest_is_recomputed(store_url: str) -> None:
    configure(store=store_url)
    first = workers.numbers.run(12)
    store = current_store()
    body = json.loads(first.manifest.to_json())
    body["checksum"] = "0" * 64
    rewrite_manifest(store, first.manifest, body)
    with pytest.warns(SkipwiseWarning, match="fails its checksum"):
        assert workers.numbers.run(12).status == "computed"
    rewrite_manifest(store, first.manifest, {"not": "a manifest"})
    with pytest.warns(SkipwiseWarning, match="unreadable manifest"):
        assert workers.numbers.run(12).value == {"n": 12, "squares": [i * i for i in range(12)]}
    assert workers.numbers.run(12).status == "reused"


def test_manifest_of_another_entry_is_refused(store_url: str) -> None:
    configure(store=store_url)
    one, two = workers.numbers.run(3), workers.numbers.run(4)
    store = current_store()
    moved = dataclasses.replace(two.manifest, signature=one.signature)
    rewrite_manifest(store, one.manifest, json.loads(two.manifest.to_json()))
    with pytest.raises(CorruptEntry, match="is for"):
        store.manifest(one.signature)
    assert moved.signature == one.signature
    with pytest.warns(SkipwiseWarning):
        assert workers.numbers.run(3).value == {"n": 3, "squares": [0, 1, 4]}
