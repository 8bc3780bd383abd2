"""gc removes what dead writers left, folders included: no empty entry folder stays behind
(local stores; object stores and SQL have no folders)."""

from __future__ import annotations

import multiprocessing
import os
import signal
from datetime import timedelta
from pathlib import Path
from typing import Any

from skipwise.gc import Policy, collect, plan_collection
from skipwise.store import FilesystemStore, open_store
from tests.stores import workers

A = "a1" * 32


def folders(store: FilesystemStore) -> list[str]:
    return sorted(str(p.relative_to(store.root)) for p in Path(store.root, "objects").rglob("*"))


def test_a_killed_writers_folder_goes_with_its_files(tmp_path: Path) -> None:
    url = str(tmp_path / "store")
    context = multiprocessing.get_context("fork")
    writing = context.Event()
    child = context.Process(target=workers.hang_before_commit, args=(url, writing, 50))
    child.start()
    assert writing.wait(timeout=60)
    os.kill(child.pid, signal.SIGKILL)
    child.join(timeout=30)
    store = open_store(url)
    assert isinstance(store, FilesystemStore)
    report = plan_collection(store, Policy(leftover_grace=timedelta(0)))
    assert len(report.leftovers) == 2  # its data and its tree
    collect(store, report)
    assert folders(store) == []


def test_an_empty_entry_folder_is_a_leftover(tmp_path: Path) -> None:
    store = open_store(tmp_path / "store")
    assert isinstance(store, FilesystemStore)
    os.makedirs(store._entry(A))  # a writer killed before its first file
    assert list(store.leftovers()) == []  # within the grace period: a writer may be busy
    (leftover,) = store.leftovers(timedelta(0))
    assert leftover.path == store._entry(A)
    store.remove_leftover(leftover)
    assert folders(store) == []


def test_a_writer_whose_folder_gc_removed_writes_it_again(tmp_path: Path) -> None:
    """gc removes an empty entry folder just as a writer of that entry made it: the writer
    makes it again and saves."""
    store = open_store(tmp_path / "store")
    assert isinstance(store, FilesystemStore)
    write = store._write_data
    removed: list[str] = []

    def gc_first(path: str, *args: Any) -> Any:
        if not removed:
            (leftover,) = store.leftovers(timedelta(0))
            store.remove_leftover(leftover)
            removed.append(leftover.path)
        return write(path, *args)

    store._write_data = gc_first  # type: ignore[method-assign]
    manifest = store.save(A, [1], codec="json", name="x", tree={}, producer={})
    assert removed == [store._entry(A)]
    assert store.load(manifest) == [1]
