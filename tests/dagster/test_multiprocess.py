"""Dagster's multiprocess executor driven by its CLI (``dagster job execute``, ``dagster asset
materialize``) on a persistent DAGSTER_HOME, with daily partitions, on a local and an S3 (moto)
store. Every step runs in its own process; bodies append to a file, so the counts below are
what executed wherever it ran. Two assets share one signature per day: the lease makes one of
them compute and the other reuse it.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dagster.conftest import Project, latest, status
from tests.stores.conftest import new_bucket
from tests.stores.servers import moto_server

# A few minutes on an idle 2-core machine; far longer when eight jobs share it.
pytestmark = [pytest.mark.executors, pytest.mark.timeout(1500)]

DAY = "2024-01-02"
DAGSTER = str(Path(sys.executable).parent / "dagster")

FLEET = """
    import dagster as dg
    import skipwise.dagster as sd
    from minipipe.counter import record
    from minipipe.helpers import scale

    days = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-03")

    def raw(context):
        record(f"raw:{context.partition_key}")
        return [int(part) for part in context.partition_key.split("-")]

    def scaled(raw):
        record("scaled")
        return [scale(x) for x in raw]

    def twin(raw):  # two assets call it on the same upstream: one signature per day
        record("twin")
        return sum(scale(x) for x in raw)

    raw_asset = sd.asset(raw, name="raw", partitions_def=days)
    assets = [
        raw_asset,
        sd.asset(scaled, partitions_def=days),
        *(
            sd.asset(twin, name=name, ins={"raw": dg.AssetKey("raw")}, partitions_def=days)
            for name in ("twin_a", "twin_b")
        ),
    ]
    defs = dg.Definitions(
        assets=assets,
        jobs=[dg.define_asset_job("daily", selection="*", partitions_def=days)],
        # Steps fork from a server that imported Dagster once (each is still its own process).
        executor=dg.multiprocess_executor.configured(
            {"max_concurrent": 2, "start_method": {"forkserver": {}}}
        ),
        resources={"io_manager": sd.SkipwiseIOManager()},
    )
"""


@contextlib.contextmanager
def store_env(kind: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    if kind == "local":
        yield {"SKIPWISE_STORE": str(tmp_path / "store")}
        return
    with moto_server() as endpoint:
        yield {
            "SKIPWISE_STORE": f"s3://{new_bucket(endpoint)}/cache",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": endpoint,
        }


def materialize(project: Project, env: dict[str, str], command: str) -> None:
    """One day, one run of the multiprocess executor, through the CLI ``command``."""
    target = ["-m", "minipipe.fleet", "-d", str(project.root)]
    if command == "job execute":
        args = ["-j", "daily", "--tags", json.dumps({"dagster/partition": DAY})]
    else:
        args = ["--select", "*", "--partition", DAY]
    result = subprocess.run(
        [DAGSTER, *command.split(), *target, *args], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, (command, result.stdout[-3000:], result.stderr[-3000:])


# Each store through one of the two commands: every run starts a process per step.
@pytest.mark.parametrize(
    ("kind", "command"), [("local", "job execute"), ("s3", "asset materialize")]
)
def test_multiprocess_cli_runs_compute_each_signature_once(
    kind: str, command: str, project: Project, dagster_home: Path, instance, tmp_path: Path
) -> None:
    (project.root / "minipipe" / "fleet.py").write_text(textwrap.dedent(FLEET).lstrip())
    with store_env(kind, tmp_path) as store:
        env = {
            **os.environ,
            **store,
            "DAGSTER_HOME": str(dagster_home),
            "PYTHONPATH": str(project.root),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        materialize(project, env, command)
        # twin_a and twin_b: one body between them
        assert project.calls() == [f"raw:{DAY}", "scaled", "twin"]
        a, b = (latest(instance, twin, DAY) for twin in ("twin_a", "twin_b"))
        assert a.metadata["skipwise/signature"] == b.metadata["skipwise/signature"]

        materialize(project, env, command)
        assert project.calls() == []
        for key in ("raw", "scaled", "twin_a", "twin_b"):
            assert status(instance, key, DAY) == "reused"

        # scale() reaches scaled and the twins, not raw.
        project.edit("helpers.py", "SCALE = 2", "SCALE = 3")
        materialize(project, env, command)
        assert project.calls() == ["scaled", "twin"]
        assert status(instance, "raw", DAY) == "reused"
        assert status(instance, "scaled", DAY) == "computed"
        edited = latest(instance, "twin_a", DAY).metadata["skipwise/signature"]
        assert edited != a.metadata["skipwise/signature"]
