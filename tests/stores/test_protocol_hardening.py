"""The hardening rules live in the protocol: the toy backend of tests/stores/test_protocol.py,
which implements primitives only, gets them too."""

from __future__ import annotations

import json
from typing import Any

import pytest

from skipwise import StoreError
from skipwise.store import CorruptEntry
from skipwise.store.protocol import Store, content_checksum
from tests.stores.test_protocol import A, B, Shelf, ToyStore, save

KEY = b"toy key, at least 16 bytes"


def forge(store: ToyStore, signature: str, **fields: Any) -> None:
    body = json.loads(store.shelf.manifests[signature])
    body.update(fields)
    store.shelf.manifests[signature] = json.dumps(body).encode()


def test_data_must_be_the_entrys_own() -> None:
    store = ToyStore(Shelf())
    save(store, A, [1])
    other = save(store, B, [2])
    forge(store, A, data=f"../{B}/{other.data}", checksum=other.checksum)
    with pytest.raises(CorruptEntry, match="is not a plain name"):
        store.manifest(A)


def test_the_checksum_covers_the_codec() -> None:
    store = ToyStore(Shelf())
    save(store, A, "text", codec="text")
    forge(store, A, codec="bytes")
    with pytest.raises(CorruptEntry, match="fails its checksum"):
        store.load(store.manifest(A))


def test_data_that_does_not_decode_is_corrupt() -> None:
    store = ToyStore(Shelf())
    manifest = save(store, A, [1])
    store.shelf.items[A, manifest.data] = (b"{not json", store.shelf.items[A, manifest.data][1])
    fetched = store._read_data(manifest, None)
    forge(store, A, checksum=content_checksum("json", fetched.checksum), size=fetched.size)
    with pytest.raises(CorruptEntry, match="cannot be read as json"):
        store.load(store.manifest(A))


def test_unknown_codec_is_corrupt() -> None:
    store = ToyStore(Shelf())
    save(store, A, [1])
    forge(store, A, codec="teammates-codec")
    with pytest.raises(CorruptEntry, match="codec this process does not know"):
        store.load(store.manifest(A))


def test_a_keyed_store_signs_and_checks_every_manifest() -> None:
    shelf = Shelf()
    keyed, keyless = ToyStore(shelf, signing_key=KEY), ToyStore(shelf)
    assert len(save(keyed, A, [1]).extra["hmac"]) == 64
    save(keyless, B, [2])
    with pytest.raises(CorruptEntry, match="is not signed"):
        keyed.manifest(B)
    assert [m.signature for m in keyed.manifests()] == [A]
    forge(keyed, A, name="renamed")
    with pytest.raises(CorruptEntry, match="wrong signature"):
        keyed.manifest(A)


@pytest.mark.parametrize("key", ["", b"", "short key"])
def test_an_empty_or_short_key_is_refused(key: str | bytes) -> None:
    with pytest.raises(StoreError, match="use at least 16 bytes"):
        ToyStore(Shelf(), signing_key=key)


class ToyWithPassword(ToyStore):
    def __init__(self) -> None:
        Store.__init__(self, "toy://user:hunter2@shelf")
        self.shelf = Shelf()


def test_the_url_never_shows_a_password() -> None:
    store = ToyWithPassword()
    assert store.url == "toy://user:***@shelf"
    with pytest.raises(StoreError, match="read-only") as raised:
        store.read_only = True
        save(store, A, [1])
    assert "hunter2" not in str(raised.value)
