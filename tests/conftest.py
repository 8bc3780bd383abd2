"""Shared fixtures: every test gets its own store and a clean skipwise configuration."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from skipwise import config


@pytest.fixture(autouse=True)
def isolated_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh local store per test, and default settings restored afterwards."""
    saved = config._settings
    store = tmp_path / "store"
    monkeypatch.setenv("SKIPWISE_STORE", str(store))
    monkeypatch.delenv("SKIPWISE_ALLOW_PICKLE", raising=False)
    yield store
    config._settings = saved
    config._store = None
    config._opened.clear()
    config._boundary = None


@pytest.fixture
def make_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., object]:
    """Write a module into a temporary folder on sys.path and import it (fresh each call)."""
    folder = tmp_path / "modules"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # rewritten files must be re-read
    created: list[str] = []

    def make(name: str, source: str):
        (folder / f"{name}.py").write_text(textwrap.dedent(source))
        sys.modules.pop(name, None)
        created.append(name)
        import importlib

        importlib.invalidate_caches()
        return importlib.import_module(name)

    yield make
    for name in created:
        sys.modules.pop(name, None)
