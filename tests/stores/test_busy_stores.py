"""Never lose computed work to a busy or interrupted store.

Sixteen processes write to one SQLite file, with a busy timeout short enough that SQLite
answers ``database is locked`` often: those tries are repeated with backoff, and a value the
store still does not take is returned with a warning, never replaced by the error. A
PostgreSQL store whose connections the server terminated serves hits again.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import psycopg
import pytest

from skipwise import Status, configure
from skipwise.config import current_store
from tests.stores import workers
from tests.stores.conftest import PG_ADMIN

WRITERS = 16
CALLS = 6


def test_sixteen_sqlite_writers_lose_no_value(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'busy.db'}"
    options = {"connect_args": {"timeout": 0.01}}  # busy for more than 10 ms: "locked"
    workers.busy.signature(0, 0)  # signed once here: the forked writers start warm
    configure(store=url)
    current_store().exists("00" * 32)  # the tables exist before the writers start
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    processes = [
        context.Process(target=workers.write_many, args=(url, options, worker, CALLS, results))
        for worker in range(WRITERS)
    ]
    for process in processes:
        process.start()
    answers = [results.get(timeout=300) for _ in range(WRITERS * CALLS)]
    for process in processes:
        process.join(timeout=60)
    assert [a for a in answers if a[0] != "ok"] == []
    assert all(value == {"worker": worker, "n": n} for _, worker, n, value in answers)
    configure(store=url)
    store = current_store()
    for _, worker, n, _ in answers:  # whatever was stored is the right value
        manifest = store.manifest(workers.busy.signature(worker, n))
        assert manifest is None or store.load(manifest) == {"worker": worker, "n": n}


@pytest.mark.parametrize("pre_ping", [True, False])
def test_postgresql_serves_hits_after_its_connections_were_terminated(
    pg_database: str, pre_ping: bool
) -> None:
    """With the pool's pre-ping (the default) a dead connection is replaced before use;
    without it, the failed read is tried again on a new connection."""
    options = {"pool_pre_ping": pre_ping}
    configure(store=f"{pg_database}?schema=ended_{str(pre_ping).lower()}", storage_options=options)
    computed = workers.numbers.run(7)
    assert workers.numbers.run(7).status == Status.REUSED  # the pool now holds a connection
    database = pg_database.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        ended = admin.execute(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()) AS ended",
            (database,),
        ).fetchone()
    assert ended is not None and ended[0] >= 1
    again = workers.numbers.run(7)
    assert (again.status, again.value) == (Status.REUSED, computed.value)
