"""(f) Remote stores: the cost of a reused task on S3 (a local moto server) and PostgreSQL vs
the local store, each ratio measured in this run.

Three places a task runs, all measured in every round:

- **fresh process**: a new interpreter imports skipwise and the task's module, opens the store
  and serves one hit (Airflow runs every task instance in a process of its own; Dagster's
  multiprocess executor every step). Wall time and CPU time (the child's rusage) of the whole
  process, interpreter start included (the same for every store).
- **forked task**: a worker process imported skipwise, the task's module and the store's
  libraries (``skipwise.host.import_store_backend``, what ``skipwise.airflow.celery`` does in
  Celery workers) and forks a process that serves one hit, as Airflow runs each task instance:
  wall and CPU time of the forked process.
- **warm process**: one more hit in that process once it has served one (Dask workers, a
  Celery pool process, Dagster's in-process executor): median of HITS hits.

Rounds alternate the stores (the order rotates every round); the tables give medians over
ROUNDS rounds. Target: S3 and PostgreSQL at most 1.5x local.

Run: ``.venv/bin/python bench/remote_cost.py [--rounds N]``. Needs PostgreSQL on
127.0.0.1:5432 (user postgres, trust auth); starts its own moto server, creates and drops its
own bucket and database.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.stores helpers

from _common import report

from tests.stores.conftest import new_bucket
from tests.stores.servers import aws_environment, moto_server, scratch_database

ROUNDS = 9
HITS = 25
MEASURES = {
    "fresh": "fresh process, wall",
    "cpu": "fresh process, CPU",
    "forked": "task forked from a preloaded worker, wall",
    "forked_cpu": "task forked from a preloaded worker, CPU",
    "warm": "warm hit, wall",
}
TASK = """
    import skipwise

    def shape(n):
        return [{"i": i, "square": i * i} for i in range(n)]

    @skipwise.cached(name="bench.task")
    def task(n: int):
        return shape(n)
"""
# Runs in each fresh process: one hit, then HITS more; prints what it measured.
FRESH = """
import json, statistics, time
import benchtask
statuses = {{benchtask.task.run(100).status.value}}
hits = []
for _ in range({hits}):
    started = time.perf_counter()
    statuses.add(benchtask.task.run(100).status.value)
    hits.append(time.perf_counter() - started)
warm = statistics.median(hits) if hits else 0.0
print(json.dumps({{"statuses": sorted(statuses), "warm": warm}}))
"""
# A worker that imported the store's libraries (skipwise.airflow.celery does it in Celery
# workers) forks a task process that serves one hit, as Airflow runs a task instance.
FORKED = """
import json, os, time
import benchtask
from skipwise.host import import_store_backend
import_store_backend()
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    os._exit(0 if benchtask.task.run(100).status.value == "reused" else 3)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - started
assert os.waitstatus_to_exitcode(status) == 0, status
print(json.dumps({"forked": wall, "forked_cpu": usage.ru_utime + usage.ru_stime}))
"""


def python(env: dict[str, str], code: str) -> tuple[dict, float, float]:
    """Run ``code`` in a fresh interpreter: what it printed, its wall and CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert result.returncode == 0, result.stderr[-3000:]
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return json.loads(result.stdout.strip().splitlines()[-1]), wall, cpu


def sample(env: dict[str, str], hits: int) -> dict:
    """One round on one store: a fresh process (with its warm hits), then a forked task."""
    fresh, wall, cpu = python(env, FRESH.format(hits=hits))
    forked, _, _ = python(env, FORKED)
    return {**fresh, **forked, "fresh": wall, "cpu": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="skipwise-bench-remote-"))
    (folder / "benchtask.py").write_text(textwrap.dedent(TASK).lstrip())
    with moto_server() as endpoint, scratch_database("skipwise_bench") as database:
        base = {
            **os.environ,
            "PYTHONPATH": str(folder),
            "SKIPWISE_QUIET": "1",
            **aws_environment(endpoint),
        }
        stores = {
            "local": str(folder / "store"),
            "S3": f"s3://{new_bucket(endpoint)}/cache",
            "PostgreSQL": f"postgresql://postgres@127.0.0.1:5432/{database}?schema=bench",
        }
        envs = {kind: {**base, "SKIPWISE_STORE": url} for kind, url in stores.items()}
        for env in envs.values():  # computes once; every later call is a hit
            python(env, FRESH.format(hits=0))
        samples: dict[str, list[dict]] = {kind: [] for kind in stores}
        kinds = list(stores)
        for round_ in range(args.rounds):
            for kind in kinds[round_ % 3 :] + kinds[: round_ % 3]:
                measured = sample(envs[kind], HITS)
                assert measured["statuses"] == ["reused"], (kind, measured)
                samples[kind].append(measured)
    median = {
        kind: {key: statistics.median(s[key] for s in runs) for key in MEASURES}
        for kind, runs in samples.items()
    }
    print(f"medians of {args.rounds} rounds; python {sys.version.split()[0]}")
    for kind in ("S3", "PostgreSQL"):
        for key, label in MEASURES.items():
            report(f"{kind} {label}", median[kind][key], median["local"][key], 1.5)


if __name__ == "__main__":
    main()
