"""The store as a Dagster resource: ``SkipwiseStore`` with its secrets as ``EnvVar``s, given to
``SkipwiseIOManager(store=...)``, on a moto S3 server and a PostgreSQL database of this
session's own; what Dagster records never holds a secret."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import dagster as dg
import pytest

import skipwise.dagster as sd
from skipwise import StoreError
from skipwise.host import StoreSpec, s3_options, sql_url
from skipwise.store import CorruptEntry
from tests.dagster.conftest import latest, status
from tests.stores import conftest as stores

# The store tests' servers: a moto S3 server, a PostgreSQL database of this session's own.
s3_endpoint = stores.s3_endpoint
pg_database = stores.pg_database

AWS_SECRET = "Aws-s3cret-from-the-env-0123"
PG_PASSWORD = "Pg-s3cret:from@the/env"
SIGNING_KEY = "Signing-k3y-from-the-env-0123"
CALLS: list[str] = []


def numbers(n: int = 3) -> list[int]:
    CALLS.append("numbers")
    return list(range(n))


def doubled(numbers: list[int]) -> list[int]:
    CALLS.append("doubled")
    return [2 * x for x in numbers]


ASSETS = [sd.asset(numbers), sd.asset(doubled)]


def resource() -> sd.SkipwiseStore:
    """Every setting from the environment, as a deployment gives it (a k8s secret)."""
    return sd.SkipwiseStore(
        url=dg.EnvVar("STORE_URL"),
        storage_options=sd.S3Options(
            key=dg.EnvVar("STORE_KEY"),
            secret=dg.EnvVar("STORE_SECRET"),
            endpoint_url=dg.EnvVar("STORE_ENDPOINT"),
            region="us-east-1",
        ),
        signing_key=dg.EnvVar("STORE_SIGNING_KEY"),
    )


def recorded(instance: dg.DagsterInstance) -> str:
    """Everything the instance keeps about the runs: event logs and run configs."""
    texts = []
    for run in instance.get_runs():
        texts.append(json.dumps(run.run_config, default=str))
        texts += [repr(e) for e in instance.all_logs(run.run_id)]
    return "\n".join(texts)


def test_an_s3_store_with_env_var_credentials(
    instance: dg.DagsterInstance, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    bucket = stores.new_bucket(s3_endpoint)
    url = f"s3://{bucket}/cache"
    monkeypatch.setenv("STORE_URL", url)
    monkeypatch.setenv("STORE_KEY", "AKIAMOTO")
    monkeypatch.setenv("STORE_SECRET", AWS_SECRET)
    monkeypatch.setenv("STORE_ENDPOINT", s3_endpoint)
    monkeypatch.setenv("STORE_SIGNING_KEY", SIGNING_KEY)
    resources = {"io_manager": sd.SkipwiseIOManager(store=resource())}
    CALLS.clear()

    assert dg.materialize(ASSETS, instance=instance, resources=resources).success
    assert CALLS == ["numbers", "doubled"]
    assert dg.materialize(ASSETS, instance=instance, resources=resources).success
    assert CALLS == ["numbers", "doubled"]  # both reused, from S3
    assert [status(instance, a) for a in ("numbers", "doubled")] == ["reused", "reused"]
    assert latest(instance, "doubled").metadata["skipwise/store"].value == url

    # In the bucket, signed with the key from the environment.
    options = s3_options(key="AKIAMOTO", secret=AWS_SECRET, endpoint_url=s3_endpoint)
    signature = latest(instance, "doubled").metadata["skipwise/signature"].value
    stored = StoreSpec(url, options, SIGNING_KEY).open()
    assert stored.load(stored.manifest(signature)) == [0, 2, 4]
    with pytest.raises(CorruptEntry, match="wrong signature"):
        StoreSpec(url, options, "another-key-0123456789abcdef").open().manifest(signature)

    # Neither the runs' records (events, metadata) nor the resource shows a secret.
    for text in (recorded(instance), repr(resources["io_manager"])):
        assert AWS_SECRET not in text and SIGNING_KEY not in text


def test_a_postgresql_url_with_its_password_in_an_env_var(
    instance: dg.DagsterInstance, pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = pg_database.rsplit("/", 1)[1]
    schema = f"d_{uuid.uuid4().hex[:8]}"
    url = sql_url(
        host="127.0.0.1",
        database=database,
        username="postgres",
        password=PG_PASSWORD,
        query={"schema": schema},
    )
    monkeypatch.setenv("PG_STORE_URL", url)
    store = sd.SkipwiseStore(url=dg.EnvVar("PG_STORE_URL"))
    resources = {"io_manager": sd.SkipwiseIOManager(store=store)}
    CALLS.clear()
    assert dg.materialize(ASSETS, instance=instance, resources=resources).success
    assert dg.materialize(ASSETS, instance=instance, resources=resources).success
    assert CALLS == ["numbers", "doubled"]
    shown = latest(instance, "doubled").metadata["skipwise/store"].value
    assert shown.startswith("postgresql+psycopg://postgres:***@127.0.0.1/")
    assert StoreSpec(url).open().pointer("doubled") is not None
    everything = recorded(instance)
    assert PG_PASSWORD not in everything and "from%40the" not in everything


def test_a_url_string_is_still_a_store_and_options_need_a_url(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    manager = sd.SkipwiseIOManager(store=str(tmp_path / "plain"))
    assert manager.store == sd.SkipwiseStore(url=str(tmp_path / "plain"))
    assert dg.materialize(ASSETS, instance=instance, resources={"io_manager": manager}).success
    assert manager.open_store().pointer("numbers") is not None
    orphan = sd.SkipwiseStore(storage_options=sd.S3Options(key="k", secret="s"))
    with pytest.raises(StoreError, match="storage_options are given, but no url"):
        orphan.open()
