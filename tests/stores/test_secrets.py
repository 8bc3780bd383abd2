"""A password planted in store URLs never shows: not in errors, warnings, log lines, the CLI's
output, an Airflow XCom reference or Dagster metadata. One function masks it (``redact``)."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import pytest
from typer.testing import CliRunner

from skipwise import SkipwiseError, configure
from skipwise.cli import app
from skipwise.config import current_store
from skipwise.errors import redact
from skipwise.store import open_store
from tests.stores import workers
from tests.stores.damage import damage_data
from tests.stores.servers import free_port

SECRET = "Pl4nted-S3cr3t"


@pytest.mark.parametrize(
    "text,shown",
    [
        (f"postgresql://postgres:{SECRET}@db:5432/x", "postgresql://postgres:***@db:5432/x"),
        (f"s3://AKIAKEY:{SECRET}@bucket/cache", "s3://AKIAKEY:***@bucket/cache"),
        (f"postgresql://u:p@ss{SECRET}@db/x", "postgresql://u:***@db/x"),
        (f"postgresql://u:a/b:{SECRET}@db:5432/x", "postgresql://u:***@db:5432/x"),
        (f"sqlite:///x.db?password={SECRET}&a=1", "sqlite:///x.db?password=***&a=1"),
        (f"host=db user=u password={SECRET} dbname=x", "host=db user=u password=*** dbname=x"),
        ("postgresql://nobody_at_all@db/x", "postgresql://nobody_at_all@db/x"),
        (
            "abfs://container@account.dfs.core.windows.net/p",
            "abfs://container@account.dfs.core.windows.net/p",
        ),
    ],
)
def test_redact(text: str, shown: str) -> None:
    assert redact(text) == shown
    assert redact(f"error: cannot open store {text} (retrying)") == (
        f"error: cannot open store {shown} (retrying)"
    )


def test_a_planted_password_never_shows(
    pg_database: str,
    aws_env: str,
    caplog: pytest.LogCaptureFixture,
    recwarn: pytest.WarningsRecorder,
) -> None:
    seen: list[str] = []
    caplog.set_level(logging.DEBUG)
    database = pg_database.replace("postgres@", f"postgres:{SECRET}@")  # trust: any password
    url = f"{database}?schema=s_{uuid.uuid4().hex[:8]}"

    # A working store: its URL, a cached call, what Airflow and Dagster are given.
    configure(store=url)
    outcome = workers.rows.run(3)
    store = current_store()
    seen.append(store.url)
    from skipwise.airflow.reference import reference
    from skipwise.dagster.report import outcome_metadata

    seen.append(json.dumps(reference(outcome, store)))
    seen += [repr(value) for value in outcome_metadata(outcome, store.url).values()]
    damage_data(store, outcome.manifest, "alter")
    workers.rows.run(3)  # warns that the entry is damaged, naming the store
    runner = CliRunner()
    for command in (["ls"], ["gc", "--delete"], ["show", "stores.rows"]):
        result = runner.invoke(app, [*command, "--store", url])
        assert result.exit_code == 0, result.output
        seen.append(result.output)

    # Stores that cannot be opened or reached: every message, and the CLI's one line.
    broken: list[tuple[str, dict[str, Any]]] = [
        (f"postgresq://postgres:{SECRET}@127.0.0.1/db", {}),
        (f"postgresql://postgres:{SECRET}@127.0.0.1:port/db", {}),
        (f"postgresql://postgres:{SECRET}@127.0.0.1:{free_port()}/db", {}),
        (f"postgresql://postgres@127.0.0.1:{free_port()}/db?password={SECRET}", {}),
        (f"s3://AKIAKEY:{SECRET}@bucket/cache", {}),
    ]
    for broken_url, options in broken:
        with pytest.raises(SkipwiseError) as raised:
            open_store(broken_url, options).manifest("ab" * 32)
        seen.append(str(raised.value))
        result = runner.invoke(app, ["ls", "--store", broken_url])
        assert result.exit_code != 0
        seen.append(result.output + str(result.exception or ""))
        configure(store=broken_url, on_store_error="compute")
        assert workers.numbers.run(2).value == workers.expected("numbers", 2)
        configure(on_store_error="raise")

    seen += [str(w.message) for w in recwarn] + [caplog.text]
    everything = "\n".join(seen)
    assert SECRET not in everything
    assert everything.count(":***@") >= 10
