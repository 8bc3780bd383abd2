"""An unusable store fails with an error naming it and the cause, or (opt-in) is bypassed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from skipwise import SkipwiseWarning, StoreError, configure
from skipwise.store import open_store
from tests.stores import workers
from tests.stores.servers import free_port, moto_server

# Fail fast instead of retrying a dead endpoint for seconds.
S3_NO_RETRIES = {"config_kwargs": {"retries": {"max_attempts": 1}}}


@pytest.fixture(scope="module")
def s3_with_auth() -> Iterator[str]:
    """A moto server that checks credentials (and knows none)."""
    with moto_server(INITIAL_NO_AUTH_ACTION_COUNT="0") as endpoint:
        yield endpoint


def broken_stores(backend: str, request: pytest.FixtureRequest, tmp_path: Path):
    """(url, storage options, words the error must contain) for each way ``backend`` fails."""
    if backend == "local":
        blocker = tmp_path / "a-file"
        blocker.write_text("not a folder")
        return [(str(blocker / "store"), {}, "NotADirectoryError")]
    if backend == "sqlite":
        return [(f"sqlite:///{tmp_path}/missing/dir/store.db", {}, "unable to open database")]
    if backend == "s3":
        endpoint = request.getfixturevalue("aws_env")
        dead = f"http://127.0.0.1:{free_port()}"
        bad_login = {"endpoint_url": request.getfixturevalue("s3_with_auth")}
        return [
            ("s3://no-such-bucket-here/cache", {}, "bucket 'no-such-bucket-here' does not exist"),
            ("s3://any/cache", {"endpoint_url": dead, **S3_NO_RETRIES}, "cannot reach the store"),
            ("s3://any/cache", {**bad_login, **S3_NO_RETRIES}, "access denied"),
            (f"s3://{uuid.uuid4().hex}/x", {"endpoint_url": endpoint}, "does not exist"),
        ]
    database = request.getfixturevalue("pg_database")
    return [
        (f"postgresql://postgres@127.0.0.1:{free_port()}/test", {}, "Connection refused"),
        ("postgresql://nobody_at_all@127.0.0.1:5432/test", {}, "nobody_at_all"),
        (f"{database}_missing", {}, "does not exist"),
    ]


def test_error_names_store_and_cause(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    for url, options, cause in broken_stores(backend, request, tmp_path):
        store = open_store(url, options)
        with pytest.raises(StoreError) as raised:
            store.manifest("ab" * 32)
        message = str(raised.value)
        assert store.url in message
        assert cause in message

        configure(store=url, storage_options=options, on_store_error="raise")
        with pytest.raises(StoreError, match="store "):
            workers.numbers(5)


def test_compute_without_caching_when_opted_in(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url, options, cause = broken_stores(backend, request, tmp_path)[0]
    configure(store=url, storage_options=options, on_store_error="compute")
    with pytest.warns(SkipwiseWarning, match="computing without caching") as warned:
        outcome = workers.numbers.run(6)
    assert cause in str(warned[0].message)
    assert outcome.status == "computed"
    assert outcome.value == {"n": 6, "squares": [0, 1, 4, 9, 16, 25]}
    assert outcome.manifest.extra == {"stored": False}


def test_policy_is_validated() -> None:
    with pytest.raises(Exception, match="on_store_error must be one of"):
        configure(on_store_error="ignore")  # type: ignore[arg-type]
