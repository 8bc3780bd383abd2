"""Manifests edited by hand or by a hostile teammate, on every backend: data redirected to
another entry, a changed codec, entries forged without the team key, a codec this process does
not know and (SQL) result tables whose columns were altered. None is served; each is reported,
recomputed and replaced."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from skipwise import SkipwiseWarning, configure
from skipwise.config import current_store
from skipwise.store import CorruptEntry, FilesystemStore, open_store
from skipwise.store import codecs as codec_registry
from skipwise.store.sql import SQLStore
from tests.stores import workers
from tests.stores.damage import rewrite_manifest

KEY = "team key of the tests, 32 bytes"


def recomputed(kind: str, n: int, match: str) -> None:
    """The call warns with ``match``, computes the right value, and the next call reuses it."""
    function = getattr(workers, kind)
    with pytest.warns(SkipwiseWarning, match=match):
        outcome = function.run(n)
    assert outcome.status == "computed"
    assert workers.same(kind, outcome.value, n)
    assert function.run(n).status == "reused"


def body(manifest: Any) -> dict[str, Any]:
    return json.loads(manifest.to_json())


def test_data_redirected_to_another_entry_is_refused(store_url: str) -> None:
    configure(store=store_url)
    mine, other = workers.rows.run(5).manifest, workers.rows.run(6).manifest
    store = current_store()
    forged = body(mine)
    forged.update(checksum=other.checksum, size=other.size)
    if isinstance(store, FilesystemStore):
        forged["data"] = f"../../{other.signature[:2]}/{other.signature}/{other.data}"
    else:
        forged["data"] = other.data  # another entry's table, same columns
    rewrite_manifest(store, mine, forged)
    with pytest.raises(CorruptEntry, match=r"unreadable manifest|data of another entry"):
        store.manifest(mine.signature)
    recomputed("rows", 5, "unreadable manifest|data of another entry")


def test_changed_codec_fails_the_checksum(store_url: str) -> None:
    configure(store=store_url)
    manifest = workers.rows.run(7).manifest
    rewrite_manifest(current_store(), manifest, {**body(manifest), "codec": "bytes"})
    recomputed("rows", 7, "fails its checksum")


def test_without_the_key_no_entry_can_be_forged(store_url: str) -> None:
    """A teammate without the key writes a different value under a signature (replacing the
    signed entry, as a store without a key can): a store with the key refuses it."""
    configure(store=store_url, signing_key=KEY)
    signed = workers.numbers.run(8)
    assert len(signed.manifest.extra["hmac"]) == 64
    keyless = open_store(store_url)
    keyless.save(
        signed.signature,
        {"n": 8, "squares": ["forged"]},
        codec="json",
        name="stores.numbers",
        tree={},
        producer={},
        replace=True,
    )
    assert keyless.load(keyless.manifest(signed.signature))["squares"] == ["forged"]
    with pytest.raises(CorruptEntry, match="is not signed"):
        current_store().manifest(signed.signature)
    assert list(current_store().manifests()) == []  # listings skip it too
    recomputed("numbers", 8, "is not signed")

    other = body(current_store().manifest(signed.signature))
    other["producer"] = {"user": "mallory"}  # any field: the HMAC covers the whole manifest
    rewrite_manifest(current_store(), signed.manifest, other)
    recomputed("numbers", 8, "wrong signature")


class Shout:
    """A teammate's custom codec, unknown to the reading process."""

    name, suffix = "shout", ".shout"

    def accepts(self, value: object) -> bool:
        return isinstance(value, dict)

    def encode(self, value: Any) -> bytes:
        return json.dumps(value).upper().encode()

    def decode(self, data: bytes) -> Any:
        return json.loads(data.decode().lower())


@pytest.fixture
def teammates_codec() -> Iterator[None]:
    codec_registry.register_codec(Shout())
    yield
    forget(Shout.name)


def forget(codec: str) -> None:
    """As if this process had never registered ``codec``."""
    codec_registry._codecs.pop(codec, None)
    if codec in codec_registry._automatic:
        codec_registry._automatic.remove(codec)


def test_unknown_codec_is_recomputed(store_url: str, teammates_codec: None) -> None:
    configure(store=store_url)
    written = workers.numbers.run(9)
    assert written.manifest.codec == "shout"
    forget(Shout.name)
    with pytest.raises(CorruptEntry, match="codec this process does not know"):
        current_store().load(written.manifest)
    recomputed("numbers", 9, "codec this process does not know")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])  # result tables are SQL's
@pytest.mark.parametrize(
    "alteration",
    [
        "ADD COLUMN extra INTEGER",
        "DROP COLUMN label",
        'RENAME COLUMN label TO "Label"',
    ],
)
def test_altered_result_table_is_recomputed(store_url: str, backend: str, alteration: str) -> None:
    configure(store=store_url)
    manifest = workers.rows.run(10).manifest
    store = current_store()
    assert isinstance(store, SQLStore)
    with store._transaction() as conn:
        table = conn.dialect.identifier_preparer.format_table(
            sa.Table(manifest.data, sa.MetaData(schema=store.schema))
        )
        for view in conn.scalars(sa.select(store._names.c.view)):
            store._drop_view(conn, view)
        conn.exec_driver_sql(f"ALTER TABLE {table} {alteration}")
    recomputed("rows", 10, "columns changed")
