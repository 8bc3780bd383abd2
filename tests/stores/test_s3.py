"""S3 specifics: standard AWS configuration, explicit storage options, batched existence."""

from __future__ import annotations

import os

import pytest

from skipwise.store import FilesystemStore, open_store
from tests.stores.conftest import new_bucket


def requests_of(store: FilesystemStore) -> list[str]:
    """The HTTP methods the store's S3 client sends from now on."""
    sent: list[str] = []
    store.fs.s3.meta.events.register(
        "before-send.s3", lambda request, **_: sent.append(request.method)
    )
    return sent


def test_status_of_many_signatures_is_listed_not_asked_one_by_one(aws_env: str) -> None:
    store = open_store(f"s3://{new_bucket(aws_env)}/cache")
    signatures = [f"{i:064x}"[::-1] for i in range(1, 601)]
    for signature in signatures[::50]:
        store.save(signature, [1], codec="json", name="many", tree={}, producer={})
    sent = requests_of(store)
    assert store.exists_many(signatures) == set(signatures[::50])
    assert set(sent) == {"GET"}  # LIST requests only, no HEAD per signature
    assert len(sent) <= 256  # at most one listing per objects/<xx>/ shard, not 600 requests
    sent.clear()
    assert store.exists_many(signatures[:3]) == {signatures[0]}
    assert len(sent) == 3


def test_a_hit_sends_one_get_per_object_it_reads(aws_env: str) -> None:
    """A hit reads the manifest (and, when the value is wanted, the data) with one GET each:
    s3fs's size request before every read (a HEAD, to split large objects into ranges) is
    left out for objects known to be small."""
    store = open_store(f"s3://{new_bucket(aws_env)}/cache")
    signature = "ab" * 32
    value = [{"i": i} for i in range(50)]
    store.save(signature, value, codec="json", name="hit", tree={}, producer={})
    sent = requests_of(store)
    manifest = store.manifest(signature)
    assert sent == ["GET"]
    assert store.load(manifest) == value
    assert sent == ["GET", "GET"]


def test_explicit_storage_options_without_environment(
    aws_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = new_bucket(aws_env)
    for variable in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(variable)
    options = {"endpoint_url": aws_env, "key": "testing", "secret": "testing"}
    store = open_store(f"s3://{bucket}/explicit", options)
    store.save("ab" * 32, {"x": 1}, codec="json", name="explicit", tree={}, producer={})
    assert store.load(store.manifest("ab" * 32)) == {"x": 1}
    assert "AWS_ENDPOINT_URL" not in os.environ


def test_commit_is_conditional(aws_env: str) -> None:
    store = open_store(f"s3://{new_bucket(aws_env)}/cache")
    first = store.save("cd" * 32, [1], codec="json", name="race", tree={}, producer={})
    second = store.save("cd" * 32, [1], codec="json", name="race", tree={}, producer={})
    assert second == first  # the later writer found the committed entry and kept it
    files = store.fs.find(f"{store.root}/objects")
    assert len(files) == 3  # manifest, data and tree of the winner; the loser cleaned up


PREPARED = """
import os, sys
from skipwise.store import import_backend, open_store, s3

url = sys.argv[1]
import_backend(url)  # what a Celery worker does once, before it forks tasks
store = open_store(url)
assert store.fs.session is s3._prepared is not None
store.save("ab" * 32, [1, 2], codec="json", name="prepared", tree={}, producer={})
assert open_store(url, {"profile": "other"}).fs.session is not s3._prepared  # its own
pid = os.fork()
if pid == 0:  # a task process: the prepared session, a client of its own
    forked = open_store(url)
    loaded = forked.load(forked.manifest("ab" * 32))
    os._exit(0 if forked.fs.session is s3._prepared and loaded == [1, 2] else 3)
_, status = os.waitpid(pid, 0)
print("child", os.waitstatus_to_exitcode(status))
"""


def test_a_preloading_process_and_its_forks_share_one_prepared_session(aws_env: str) -> None:
    """import_backend loads botocore's S3 descriptions once (sending nothing); stores opened
    afterwards, in the process and in its forks, use that session and work as before."""
    import subprocess
    import sys

    url = f"s3://{new_bucket(aws_env)}/cache"
    result = subprocess.run(
        [sys.executable, "-c", PREPARED, url], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["child", "0"]
