"""``skipwise.airflow.celery`` imports the libraries of the store tasks use by default, found
as a task finds it (Airflow connection first, then ``[skipwise] store``), so that task
processes forked from the Celery worker do not import them again. Fresh interpreters:
``sys.modules`` there shows what importing the Celery settings imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CONNECTION = json.dumps({"conn_type": "skipwise", "extra": {"store": "s3://bucket/cache"}})


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"AIRFLOW_CONN_SKIPWISE_DEFAULT": CONNECTION}, {"s3fs"}),
        (
            {
                # the connection wins over [skipwise] store, as in a task
                "AIRFLOW_CONN_SKIPWISE_DEFAULT": CONNECTION,
                "AIRFLOW__SKIPWISE__STORE": "postgresql://nobody@127.0.0.1:1/none",
            },
            {"s3fs"},
        ),
        ({"AIRFLOW__SKIPWISE__STORE": "postgresql://nobody@127.0.0.1:1/none"}, {"psycopg"}),
    ],
)
def test_celery_settings_preload_the_store_tasks_use(
    tmp_path: Path, env: dict[str, str], expected: set[str]
) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "SKIPWISE"))}
    code = (
        "import json, sys\nimport skipwise.airflow.celery\n"
        "print(json.dumps([m for m in ('s3fs', 'psycopg') if m in sys.modules]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        # No server listens on port 1 and no bucket exists: nothing is opened.
        env={
            **base,
            "AIRFLOW_HOME": str(tmp_path),
            "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert set(json.loads(result.stdout.splitlines()[-1])) == expected
