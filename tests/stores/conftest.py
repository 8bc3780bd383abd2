"""Real servers for store tests: a moto S3 server and a scratch PostgreSQL database.

Every test that takes ``store_url`` runs once per backend (local, S3, SQLite, PostgreSQL) on a
store of its own: a fresh folder, bucket, SQLite file or PostgreSQL schema.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

# PG_ADMIN: store tests and benchmarks import it from here.
from tests.stores.servers import PG_ADMIN as PG_ADMIN
from tests.stores.servers import moto_server, scratch_database

BACKENDS = ["local", "s3", "sqlite", "postgresql"]


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def aws_env(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Standard AWS configuration pointing at the moto server (as a user would set it)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    return s3_endpoint


def new_bucket(endpoint: str) -> str:
    import boto3

    name = f"skipwise-{uuid.uuid4().hex[:12]}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A uniquely named database for this session, dropped at the end."""
    with scratch_database("skipwise_test") as name:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def store_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A fresh, empty store of ``backend``."""
    if backend == "local":
        return str(tmp_path / "store")
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    if backend == "s3":
        endpoint = request.getfixturevalue("aws_env")
        return f"s3://{new_bucket(endpoint)}/cache"
    database = request.getfixturevalue("pg_database")
    return f"{database}?schema=t_{uuid.uuid4().hex[:12]}"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "slow: long fault-injection loops (CI runs them; -m 'not slow' skips them)"
    )
