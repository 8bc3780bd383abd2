"""A teammate who can write a local store puts links (and a FIFO) in it: gc, delete, listings
and writes never follow them, never remove what they lead to, and report them as refused.
(S3 and SQL stores have no links.)"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from skipwise.cli import app
from skipwise.gc import Policy, collect, plan_collection
from skipwise.store import CorruptEntry, FilesystemStore, OutsideStore, open_store

A, B = "a1" * 32, "b2" * 32


@pytest.fixture
def store(tmp_path: Path) -> FilesystemStore:
    store = open_store(tmp_path / "store")
    assert isinstance(store, FilesystemStore)
    store.save(B, [1], codec="json", name="kept", tree={}, producer={})
    store.set_pointer("kept", B)
    return store


@pytest.fixture
def foreign(tmp_path: Path) -> Path:
    """A folder outside the store with three files that must survive everything."""
    folder = tmp_path / "victim"
    folder.mkdir()
    for name in ("manifest.json", "data-0123456789abcdef.json", "notes.txt"):
        (folder / name).write_text(f"not yours: {name}")
    return folder


def untouched(foreign: Path) -> bool:
    return sorted(p.name for p in foreign.iterdir()) == [
        "data-0123456789abcdef.json",
        "manifest.json",
        "notes.txt",
    ]


def link_entry(store: FilesystemStore, foreign: Path) -> Path:
    entry = Path(store._entry(A))
    entry.parent.mkdir(parents=True, exist_ok=True)
    entry.symlink_to(foreign, target_is_directory=True)
    return entry


def link_shard(store: FilesystemStore, foreign: Path) -> Path:
    (foreign / A).mkdir()
    for name in ("data-0123456789abcdef.json", "tree-0123456789abcdef.json"):
        (foreign / A / name).write_text("{}")
    shard = Path(store._entry(A)).parent
    shard.symlink_to(foreign, target_is_directory=True)
    return shard


def link_names(store: FilesystemStore, foreign: Path) -> Path:
    names = Path(store.root) / "names" / "team"
    names.symlink_to(foreign, target_is_directory=True)
    return names


LINKS: dict[str, Callable[[FilesystemStore, Path], Path]] = {
    "entry folder": link_entry,
    "shard folder": link_shard,
    "names folder": link_names,
}


@pytest.mark.parametrize("where", LINKS)
def test_gc_reports_links_and_never_follows_them(
    store: FilesystemStore, foreign: Path, where: str
) -> None:
    link = LINKS[where](store, foreign)
    before = sorted(foreign.rglob("*"))
    report = plan_collection(store, Policy(older_than=timedelta(0), leftover_grace=timedelta(0)))
    assert [item.path for item in report.refused] == [str(link)]
    assert f"link to {foreign}" in report.refused[0].why
    assert report.leftovers == []  # nothing behind the link is taken for a leftover
    assert [m.signature for m in report.keep] == [B]  # nor listed as an entry
    collect(store, report)
    assert sorted(foreign.rglob("*")) == before
    assert link.is_symlink()
    assert [m.signature for m in store.manifests()] == [B]
    assert [p.name for p in store.pointers()] == ["kept"]


def test_cli_gc_shows_refused_links_and_deletes_nothing_behind_them(
    store: FilesystemStore, foreign: Path
) -> None:
    link = link_entry(store, foreign)
    runner = CliRunner()
    for mode in ("--dry-run", "--delete"):
        result = runner.invoke(
            app,
            ["gc", "--store", store.root, "--leftover-grace", "0s", mode],
            catch_exceptions=False,
        )
        assert result.exit_code == 0, result.output
        assert "refused (left alone)" in result.output
        assert str(link) in result.output.replace("\n", "")
        assert untouched(foreign)


def test_writes_and_deletes_refuse_a_linked_entry(store: FilesystemStore, foreign: Path) -> None:
    link_entry(store, foreign)
    with pytest.raises(OutsideStore, match="is a link to"):
        store.delete(A)
    with pytest.raises(CorruptEntry):  # what it finds there is no entry of this store
        store.save(A, [2], codec="json", name="x", tree={}, producer={})
    with pytest.raises(OutsideStore, match="never follows links"):
        store.save(A, [2], codec="json", name="x", tree={}, producer={}, replace=True)
    assert untouched(foreign)


def test_pointer_lock_that_is_a_link_is_refused(store: FilesystemStore, foreign: Path) -> None:
    lock = Path(store.root) / "names" / ".lock"
    lock.unlink(missing_ok=True)
    lock.symlink_to(foreign / "notes.txt")
    with pytest.raises(OutsideStore):
        store.set_pointer("kept", A)
    assert (foreign / "notes.txt").read_text() == "not yours: notes.txt"  # not truncated


@pytest.mark.parametrize("kind", ["link", "fifo"])
def test_a_manifest_that_is_not_a_file_is_never_read(
    store: FilesystemStore, foreign: Path, kind: str
) -> None:
    manifest = Path(store._where(A))
    manifest.parent.mkdir(parents=True)
    if kind == "link":
        manifest.symlink_to(foreign / "manifest.json")
    else:
        os.mkfifo(manifest)  # reading it would block forever
    with pytest.raises(OutsideStore, match=str(manifest)):
        store.manifest(A)
    assert [m.signature for m in store.manifests()] == [B]
    assert [item.path for item in store.refused()] == [str(manifest)]
    assert list(store.leftovers(timedelta(0))) == []
