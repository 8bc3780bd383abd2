"""Remote-store libraries are imported only when a store needs them, and a process that forks
task processes can import them once, without opening the store (``import_backend``). Each
case runs in a fresh interpreter: ``sys.modules`` there shows exactly what got imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

REMOTE = ("s3fs", "aiobotocore", "botocore", "sqlalchemy", "psycopg")


def imported_by(code: str, **env: str) -> list[str]:
    """The REMOTE libraries a fresh interpreter has imported after running ``code``."""
    script = (
        f"import json, sys\n{code}\nprint(json.dumps([m for m in {REMOTE!r} if m in sys.modules]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


def test_importing_skipwise_imports_no_store_library() -> None:
    assert imported_by("import skipwise, skipwise.host") == []


@pytest.mark.parametrize("host", ["skipwise.airflow", "skipwise.dagster"])
def test_hosts_import_no_object_store_library(host: str) -> None:
    # Airflow and Dagster use SQLAlchemy themselves; neither needs s3fs or botocore.
    assert not {"s3fs", "aiobotocore", "botocore"} & set(imported_by(f"import {host}"))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/tmp/a-local-store", []),
        ("s3://no-such-bucket/cache", ["s3fs", "aiobotocore", "botocore"]),
        ("postgresql://nobody@127.0.0.1:1/none?schema=x", ["sqlalchemy", "psycopg"]),
        ("sqlite:////tmp/no/such/folder/store.db", ["sqlalchemy"]),
    ],
)
def test_import_backend_imports_only_what_the_store_needs(url: str, expected: list[str]) -> None:
    # Nothing is opened: no bucket, no server on port 1 and no folder exist, and no request
    # goes to the endpoint (nothing listens there either).
    code = f"from skipwise.store import import_backend\nimport_backend({url!r})"
    assert imported_by(code, AWS_ENDPOINT_URL="http://127.0.0.1:1") == expected


def test_the_configured_store_is_preloaded() -> None:
    code = "from skipwise.host import import_store_backend\nimport_store_backend()"
    assert imported_by(code, SKIPWISE_STORE="s3://bucket/cache") == [
        "s3fs",
        "aiobotocore",
        "botocore",
    ]


def test_a_missing_library_is_named_with_its_extra() -> None:
    code = """
sys.modules["s3fs"] = None  # as if not installed
from skipwise.errors import StoreError
from skipwise.store import import_backend
try:
    import_backend("s3://bucket/cache")
except StoreError as exc:
    print(exc)
"""
    result = subprocess.run(
        [sys.executable, "-c", f"import sys\n{code}"], capture_output=True, text=True
    )
    assert "cannot use store s3://bucket/cache" in result.stdout
    assert "pip install 'skipwise[s3]'" in result.stdout
