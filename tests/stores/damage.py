"""Test helpers that damage a stored entry behind the store's back, as a disk or a person would."""

from __future__ import annotations

import json

import sqlalchemy as sa

from skipwise.store import FilesystemStore, Manifest, Store, frames
from skipwise.store.sql import BLOB, SQLStore


def damage_data(store: Store, manifest: Manifest, how: str) -> None:
    """``how``: "truncate" (lose the end) or "alter" (change one value)."""
    if isinstance(store, FilesystemStore):
        path = f"{store._entry(manifest.signature)}/{manifest.data}"
        data = bytearray(store.fs.cat_file(path))
        if how == "truncate":
            del data[len(data) // 2 :]
        else:
            data[len(data) // 2] ^= 0x01
        store.fs.pipe_file(path, bytes(data))
        return
    assert isinstance(store, SQLStore)
    with store._transaction() as conn:
        if manifest.data == BLOB:
            blobs = store._blobs
            data = bytearray(conn.scalar(sa.select(blobs.c.data)))
            if how == "truncate":
                del data[len(data) // 2 :]
            else:
                data[len(data) // 2] ^= 0x01
            conn.execute(sa.update(blobs).values(data=bytes(data)))
            return
        table = sa.Table(manifest.data, sa.MetaData(schema=store.schema), autoload_with=conn)
        row = table.c[frames.ROW]
        if how == "truncate":
            conn.execute(sa.delete(table).where(row >= 100))
        else:
            first = next(c for c in table.columns if c.name != frames.ROW)
            conn.execute(sa.update(table).where(row == 7).values({first.name: first + 1}))


def rewrite_manifest(store: Store, manifest: Manifest, body: dict) -> None:
    """Replace an entry's committed manifest with ``body`` (JSON)."""
    raw = json.dumps(body)
    if isinstance(store, FilesystemStore):
        store.fs.pipe_file(f"{store._entry(manifest.signature)}/manifest.json", raw.encode())
        return
    assert isinstance(store, SQLStore)
    with store._transaction() as conn:
        column = store._manifests.c.signature
        conn.execute(
            sa.update(store._manifests).where(column == manifest.signature).values(body=raw)
        )
