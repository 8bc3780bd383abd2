"""Pickles are never loaded unless allowed, and on shared stores only with a valid HMAC; names
cannot escape the store."""

from __future__ import annotations

import json
import pickle

import pandas as pd
import pytest

from skipwise import InvalidName, SkipwiseWarning, cached, configure
from skipwise.config import current_store
from skipwise.engine import Ref
from skipwise.store import CorruptEntry, open_store
from tests.stores.damage import rewrite_manifest

SHARED = {"s3", "sqlite", "postgresql"}


class Token:
    """A value only pickle can store."""

    def __init__(self, value: int):
        self.value = value


@pytest.fixture
def unpickled(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every payload ``pickle.loads`` is given during the test."""
    calls: list[bytes] = []
    real = pickle.loads

    def loads(data: bytes, *args, **kwargs):
        calls.append(data)
        return real(data, *args, **kwargs)

    monkeypatch.setattr(pickle, "loads", loads)
    return calls


@cached(name="stores.token", allow_pickle=True)
def token(value: int) -> Token:
    return Token(value)


def test_pickle_needs_opt_in(
    store_url: str, monkeypatch: pytest.MonkeyPatch, unpickled: list[bytes]
) -> None:
    monkeypatch.setenv("SKIPWISE_SIGNING_KEY", "team secret, 16+ bytes")
    configure(store=store_url)
    stored = token.run(1)
    assert stored.manifest.codec == "pickle"
    with pytest.raises(CorruptEntry, match="pickle loading is not allowed"):
        Ref(stored.signature).load()
    assert unpickled == []
    configure(allow_pickle=True)
    assert Ref(stored.signature).load().value == 1
    assert len(unpickled) == 1


def test_shared_store_requires_signed_pickles(
    store_url: str, backend: str, monkeypatch: pytest.MonkeyPatch, unpickled: list[bytes]
) -> None:
    monkeypatch.delenv("SKIPWISE_SIGNING_KEY", raising=False)
    configure(store=store_url)
    if backend in SHARED:  # the value is returned (work is never thrown away), not stored
        with pytest.warns(SkipwiseWarning, match="pickled results must be signed"):
            unsigned = token.run(2)
        assert unsigned.value is not None and not unsigned.stored
        assert current_store().manifest(unsigned.signature) is None
    else:
        assert "hmac" not in token.run(2).manifest.extra  # trusted local store, no key

    configure(signing_key="team secret, 16+ bytes")
    signed = token.run(3)
    assert len(signed.manifest.extra["hmac"]) == 64
    assert token.run(3).status == "reused"

    # Another key: the entry is refused, recomputed, and replaced by one signed with this key.
    unpickled.clear()
    configure(signing_key="another key, 16+ bytes")
    with pytest.warns(SkipwiseWarning, match="wrong signature"):
        assert token.run(3).status == "computed"
    assert unpickled == []
    assert token.run(3).status == "reused"


@pytest.mark.parametrize("tamper", ["unsigned", "altered"])
def test_tampered_pickle_manifest_is_refused(
    store_url: str, tamper: str, unpickled: list[bytes]
) -> None:
    configure(store=store_url, signing_key="team secret, 16+ bytes", allow_pickle=True)
    entry = token.run(4)
    store = current_store()
    body = json.loads(entry.manifest.to_json())
    if tamper == "unsigned":
        del body["extra"]["hmac"]
    else:
        body["producer"] = {"user": "mallory"}
    rewrite_manifest(store, entry.manifest, body)
    unpickled.clear()
    with pytest.raises(CorruptEntry, match="not signed" if tamper == "unsigned" else "wrong"):
        store.load(store.manifest(entry.signature))
    with pytest.warns(SkipwiseWarning):
        assert token.run(4).value.value == 4
    assert unpickled == []


@pytest.mark.parametrize(
    "name",
    ["../escape", "/etc/passwd", "a/../../b", "x'; DROP TABLE skipwise_manifests; --", 'a"b', ""],
)
def test_names_cannot_escape(store_url: str, name: str) -> None:
    store = open_store(store_url)
    with pytest.raises(InvalidName):
        store.save("ab" * 32, [1], codec="json", name=name, tree={}, producer={})
    with pytest.raises(InvalidName):
        store.pointer(name)
    with pytest.raises(InvalidName):
        cached(name=name)(lambda: 1)
    with pytest.raises(Exception, match="not a skipwise signature"):
        store.manifest("../" + "a" * 61)
    assert list(store.manifests()) == []


def test_hostile_column_names_are_quoted(store_url: str) -> None:
    hostile = pd.DataFrame(
        {'x"; DROP TABLE skipwise_manifests; --': [1, 2], "Mixed Case": ["a", "b"]}
    )
    store = open_store(store_url)
    manifest = store.save("ef" * 32, hostile, codec="pandas", name="hostile", tree={}, producer={})
    assert store.load(store.manifest("ef" * 32)).equals(hostile)
    assert list(store.manifests()) == [manifest]
