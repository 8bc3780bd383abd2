"""Faults on the real services: a connection cut mid-write and mid-read (S3, PostgreSQL), a full
disk (local, SQLite, PostgreSQL), a store that cannot be written (every backend) and writers
killed at random points (every backend). Afterwards every read gives a miss or the right
value, nothing partial is ever served, and gc cleans every leftover.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import random
import re
import signal
import subprocess
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest

from skipwise import SkipwiseWarning, StoreError, configure
from skipwise.config import current_store
from skipwise.gc import Policy, collect, plan_collection
from skipwise.store import Store, open_store
from tests.stores import workers
from tests.stores.conftest import PG_ADMIN, new_bucket
from tests.stores.servers import Proxy, moto_server

A, B = "a1" * 32, "b2" * 32
BIG = bytes(range(256)) * 8192  # 2 MiB
S3_NO_RETRIES = {"config_kwargs": {"retries": {"max_attempts": 1}}}
KILLS = 30
KINDS = ("rows", "numbers")


def save(store: Store[Any], signature: str, value: Any, codec: str) -> Any:
    return store.save(signature, value, codec=codec, name="faults", tree={}, producer={})


def assert_clean(store: Store[Any]) -> None:
    """gc finds and removes every leftover; nothing is refused; a second look finds none."""
    report = plan_collection(store, Policy(leftover_grace=timedelta(0)))
    assert report.refused == []
    collect(store, report)
    assert list(store.leftovers(timedelta(0))) == []


@contextlib.contextmanager
def small_disk(path: Path, size: str, *options: str) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``path`` (root only: skipped elsewhere)."""
    path.mkdir(parents=True, exist_ok=True)
    opts = ",".join((f"size={size}", *options))
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)], check=False)
    if mounted.returncode != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)
        with contextlib.suppress(OSError):
            path.rmdir()


def read_only(path: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(path)], check=True)


# --- the network cut -----------------------------------------------------------------------


@pytest.fixture
def s3_through_proxy(aws_env: str) -> Iterator[tuple[Store[Any], Proxy]]:
    endpoint = urlsplit(aws_env)
    with Proxy((endpoint.hostname, endpoint.port)) as proxy:
        options = {"endpoint_url": f"http://127.0.0.1:{proxy.port}", **S3_NO_RETRIES}
        store = open_store(f"s3://{new_bucket(aws_env)}/cache", options)
        store.fs.retries = 1  # s3fs's own retries: one attempt, the cut is not waited out
        yield store, proxy


@pytest.fixture
def postgresql_through_proxy(pg_database: str) -> Iterator[tuple[Store[Any], Proxy]]:
    with Proxy(("127.0.0.1", 5432)) as proxy:
        url = pg_database.replace(":5432/", f":{proxy.port}/")
        yield open_store(f"{url}?schema=cut_{uuid.uuid4().hex[:12]}"), proxy


@pytest.mark.parametrize("service", ["s3", "postgresql"])
def test_connection_cut_mid_write_and_mid_read(service: str, request: pytest.FixtureRequest):
    store, proxy = request.getfixturevalue(f"{service}_through_proxy")
    value, codec = (BIG, "bytes") if service == "s3" else (workers.frame(100_000), "pandas")
    save(store, B, {"small": True}, "json")

    proxy.cut_after(up=1_000_000)  # the connection drops while the data is on its way
    with pytest.raises(StoreError, match=re.escape(f"store {store.url}: ")):
        save(store, A, value, codec)
    assert proxy.cuts
    proxy.heal()
    assert store.manifest(A) is None
    assert store.exists_many([A, B]) == {B}
    assert_clean(store)

    saved = save(store, A, value, codec)
    proxy.cut_after(down=1_000_000)  # ... and while it comes back
    with pytest.raises(StoreError, match=re.escape(f"store {store.url}: ")):
        store.load(store.manifest(A))
    proxy.heal()
    loaded = store.load(store.manifest(A))
    assert loaded == value if codec == "bytes" else loaded.equals(value)
    assert store.manifest(A) == saved
    assert store.load(store.manifest(B)) == {"small": True}
    assert_clean(store)


# --- the full disk -------------------------------------------------------------------------


@pytest.fixture
def pg_small_tablespace(pg_database: str) -> Iterator[str]:
    """A PostgreSQL store whose tables live in a tablespace on a 4 MiB tmpfs."""
    import pwd

    owner = pwd.getpwnam("postgres")
    folder = Path(f"/tmp/skipwise-space-{uuid.uuid4().hex[:8]}")
    space, schema = f"small_{uuid.uuid4().hex[:8]}", f"full_{uuid.uuid4().hex[:8]}"
    with small_disk(folder, "4m", f"uid={owner.pw_uid}", f"gid={owner.pw_gid}", "mode=0700"):
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f"CREATE TABLESPACE {space} LOCATION '{folder}'")
        try:
            yield f"{pg_database}?schema={schema}&options=-c%20default_tablespace%3D{space}"
        finally:
            database = pg_database.rsplit("/", 1)[1]
            with psycopg.connect(PG_ADMIN.replace("dbname=test", f"dbname={database}")) as conn:
                conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
                conn.commit()
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f"DROP TABLESPACE {space}")


def full_disk_store(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "postgresql":
        return request.getfixturevalue("pg_small_tablespace")
    disk = request.getfixturevalue("small_tmpfs")
    return str(disk / "store") if backend == "local" else f"sqlite:///{disk}/store.db"


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    with small_disk(tmp_path / "small", "2m") as disk:
        yield disk


@pytest.mark.parametrize("backend", ["local", "sqlite", "postgresql"])
def test_full_disk(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    store = open_store(full_disk_store(backend, tmp_path, request))
    kept = save(store, B, {"small": True}, "json")
    big = workers.frame(200_000) if backend == "postgresql" else BIG
    with pytest.raises(StoreError, match=r"[Nn]o space left|disk is full|could not extend"):
        save(store, A, big, "pandas" if backend == "postgresql" else "bytes")
    assert store.manifest(A) is None
    assert store.manifest(B) == kept
    assert store.load(kept) == {"small": True}
    assert_clean(store)
    if backend == "local":  # the failed writer's empty entry folder went too
        assert sorted(os.listdir(Path(store.root) / "objects")) == [B[:2]]
    save(store, A, b"fits now", "bytes")
    assert store.load(store.manifest(A)) == b"fits now"


# --- the store that cannot be written --------------------------------------------------------


@pytest.fixture(scope="module")
def s3_credentials() -> Iterator[tuple[str, dict[str, str], dict[str, str]]]:
    """A moto server that checks credentials: a bucket, and the options of a user who may do
    anything and of one who may not put or delete objects."""
    everything = {"Effect": "Allow", "Action": "*", "Resource": "*"}
    no_writes = {"Effect": "Deny", "Action": ["s3:PutObject", "s3:DeleteObject"], "Resource": "*"}
    with moto_server(INITIAL_NO_AUTH_ACTION_COUNT="3") as endpoint:
        options = {"endpoint_url": endpoint, "key": "testing", "secret": "testing"}
        users: list[dict[str, str]] = []
        for user, statements in (("writer", [everything]), ("reader", [everything, no_writes])):
            iam = client("iam", options if not users else users[0])
            iam.create_user(UserName=user)
            key = iam.create_access_key(UserName=user)["AccessKey"]
            policy = json.dumps({"Version": "2012-10-17", "Statement": statements})
            iam.put_user_policy(UserName=user, PolicyName="store", PolicyDocument=policy)
            users.append({**options, "key": key["AccessKeyId"], "secret": key["SecretAccessKey"]})
        client("s3", users[0]).create_bucket(Bucket="read-only-store")
        yield "s3://read-only-store/cache", users[0], {**users[1], **S3_NO_RETRIES}


def client(service: str, options: dict[str, Any]) -> Any:
    import boto3

    return boto3.client(
        service,
        endpoint_url=options["endpoint_url"],
        aws_access_key_id=options["key"],
        aws_secret_access_key=options["secret"],
        region_name="us-east-1",
    )


@pytest.mark.parametrize("backend", ["local", "s3", "sqlite", "postgresql"])
def test_store_that_cannot_be_written(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A read-only disk (a remounted tmpfs), a PostgreSQL session in read-only transactions,
    S3 credentials that may not put objects."""
    writable_options = locked_options = {}
    if backend == "postgresql":
        writable = f"{request.getfixturevalue('pg_database')}?schema=ro_{uuid.uuid4().hex[:8]}"
        locked = f"{writable}&options=-c%20default_transaction_read_only%3Don"
    elif backend == "s3":
        writable, writable_options, locked_options = request.getfixturevalue("s3_credentials")
        writable = locked = f"{writable}/{uuid.uuid4().hex[:8]}"
    else:
        disk = request.getfixturevalue("small_tmpfs")
        writable = str(disk / "store") if backend == "local" else f"sqlite:///{disk}/store.db"
        locked = writable
    configure(store=writable, storage_options=writable_options)
    stored = workers.numbers.run(3)
    if backend == "sqlite":
        current_store()._db().dispose()  # no file open for writing: the disk can go read-only
    if backend in ("local", "sqlite"):
        read_only(tmp_path / "small")

    configure(store=locked, storage_options=locked_options)
    if backend == "sqlite":
        # SQLite cannot open a WAL database on a read-only disk at all: the store is unusable,
        # and says so, naming itself and the cause.
        with pytest.raises(StoreError, match=re.escape(f"store {current_store().url}: ")):
            workers.numbers(3)
    else:
        assert workers.numbers.run(3).value == stored.value  # a hit is served
        assert current_store().load(stored.manifest) == stored.value
        with pytest.raises(StoreError, match=r"[Rr]ead-?only|access denied"):
            workers.numbers(4)  # a miss cannot be stored: said, not a raw error
    configure(on_store_error="compute")
    with pytest.warns(SkipwiseWarning, match="computing without caching"):
        assert workers.numbers.run(4).value == workers.expected("numbers", 4)
    if backend != "sqlite":
        assert current_store().manifest(workers.numbers.signature(4)) is None


# --- writers killed at random points --------------------------------------------------------


@pytest.mark.slow
def test_writers_killed_at_random_points(store_url: str, backend: str) -> None:
    """30 writers, each killed with SIGKILL at a random moment of storing results of
    different sizes. Every entry is then a miss or the right value; gc removes the rest."""
    seed = random.randrange(2**32)
    chance = random.Random(seed)
    context = multiprocessing.get_context("fork")
    store = open_store(store_url)
    store.exists(A)  # the writers, forked from here, start with its libraries imported
    tried: set[int] = set()
    for kill in range(KILLS):
        sizes = [chance.randrange(1, 10_000) for _ in range(4)]
        tried.update(sizes)
        ready = context.Event()
        writer = context.Process(target=workers.write_until_killed, args=(store_url, ready, sizes))
        writer.start()
        try:
            assert ready.wait(timeout=60), f"writer {kill} never started"
            writer.join(timeout=chance.uniform(0, 0.4))
        finally:
            if writer.exitcode is None:
                os.kill(writer.pid, signal.SIGKILL)
            writer.join(timeout=30)

    calls = {getattr(workers, kind).signature(n): (kind, n) for n in tried for kind in KINDS}
    for signature in sorted(store.exists_many(calls)):
        kind, n = calls[signature]
        value = store.load(store.manifest(signature))
        assert workers.same(kind, value, n), f"seed {seed}: {kind}({n})"
    assert_clean(store)
    if backend == "local":  # no empty entry folder is left behind either
        objects = Path(store.root) / "objects"
        assert all(any(entry.iterdir()) for entry in objects.glob("*/*")), f"seed {seed}"
