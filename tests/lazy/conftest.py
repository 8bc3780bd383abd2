"""Lazy SQL steps run on the real databases: SQLite files and a scratch PostgreSQL database."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.stores.conftest import pg_database as pg_database


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh SQL store: a SQLite file, or a schema of its own in the scratch database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return f"{request.getfixturevalue('pg_database')}?schema=t_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def pg_url(pg_database: str) -> str:
    return f"{pg_database}?schema=t_{uuid.uuid4().hex[:12]}"
