"""Core's part of credentials, which every host uses: a store from a URL, storage options and a
key (``StoreSpec``), URLs and options built from connection fields, and the secrets a host must
register with its log masker."""

from __future__ import annotations

from pathlib import Path

import pytest

from skipwise import StoreError, configure
from skipwise.host import StoreSpec, s3_options, sql_url

PASSWORD = "p@ss/w:rd+é"
QUOTED = "p%40ss%2Fw%3Ard+%C3%A9"  # as SQLAlchemy quotes it


def test_sql_url_quotes_what_a_password_may_hold() -> None:
    url = sql_url(
        host="db",
        port=5433,
        database="results",
        username="skipwise",
        password=PASSWORD,
        query={"sslmode": "require"},
    )
    assert url == f"postgresql://skipwise:{QUOTED}@db:5433/results?sslmode=require"
    assert StoreSpec(url).display == "postgresql://skipwise:***@db:5433/results?sslmode=require"
    assert sql_url(host="db", database="results") == "postgresql://db/results"
    with pytest.raises(StoreError, match="needs a host and a database"):
        sql_url(host="db", database=None)


def test_s3_options_from_aws_style_fields() -> None:
    assert s3_options() == {}
    assert s3_options(
        key="AKIA", secret="s", token="t", endpoint_url="http://minio:9000", region="eu-west-1"
    ) == {
        "key": "AKIA",
        "secret": "s",
        "token": "t",
        "endpoint_url": "http://minio:9000",
        "client_kwargs": {"region_name": "eu-west-1"},
    }
    with pytest.raises(StoreError, match="both an access key id and a secret"):
        s3_options(key="AKIA")


def test_secrets_are_every_form_a_log_line_could_hold() -> None:
    url = f"postgresql://skipwise:{QUOTED}@db/results?schema=s"
    spec = StoreSpec(
        url,
        {"key": "AKIA", "client_kwargs": {"aws_secret_access_key": "nested"}, "token": "t0k"},
        "the-signing-key-0123456789",
    )
    assert set(spec.secrets()) == {
        url,
        QUOTED,
        PASSWORD,  # URL-decoded: a driver's message may quote it either way
        "nested",
        "t0k",
        "the-signing-key-0123456789",
    }
    assert spec.secrets()[0] == url  # longest first: the whole URL masks before its parts
    assert "AKIA" not in spec.secrets()  # an access key id is not a secret
    assert PASSWORD not in repr(spec) and QUOTED not in repr(spec)
    assert StoreSpec("s3://bucket/x").secrets() == []


def test_a_shown_url_reopens_only_without_a_hidden_password(tmp_path: Path) -> None:
    assert StoreSpec.shown(str(tmp_path), "a reference").open().url == str(tmp_path)
    with pytest.raises(StoreError, match=r"\(from a reference\) cannot be opened"):
        StoreSpec.shown("postgresql://u:***@db/x", "a reference")


def test_the_configured_spec_and_one_store_per_settings(tmp_path: Path) -> None:
    spec = StoreSpec.configured()
    assert spec is not None and spec.origin == "from $SKIPWISE_STORE"
    assert spec.open() is spec.open()  # opened once per process
    keyed = StoreSpec.configured("a-signing-key-0123456789")
    assert keyed.url == spec.url and keyed.open() is not spec.open()
    assert keyed.open().signing_key == b"a-signing-key-0123456789"
    configure(store=str(tmp_path / "configured"))
    assert StoreSpec.configured().url == str(tmp_path / "configured")
    configure(store=StoreSpec(str(tmp_path / "object")).open())
    assert StoreSpec.configured() is None  # a Store object: hosts use current_store()
