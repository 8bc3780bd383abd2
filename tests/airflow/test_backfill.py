"""Backfills through Airflow's own machinery: ``airflow backfill create`` on a real api-server
and scheduler (LocalExecutor, task workers in their own processes). After a helper changes, a
backfill with ``--reprocess-behavior completed`` over three dates reruns only the tasks whose
signature changed."""

from __future__ import annotations

import subprocess
import time

import pytest

from skipwise.airflow.notes import PREFIX
from tests.airflow.conftest import HOME, Project, serialize_dags
from tests.airflow.servers import AIRFLOW, api_server, request, server_env, started, token

DATES = ["2024-01-01", "2024-01-02", "2024-01-03"]


def backfill(base: str) -> dict[str, dict[str, dict]]:
    """Backfill ``daily`` over DATES (one run at a time, so call counts are exact); wait for
    its runs; return each run's skipwise references by task."""
    from airflow.models.backfill import Backfill

    args = ["backfill", "create", "--dag-id", "daily", "--from-date", DATES[0]]
    args += ["--to-date", DATES[-1], "--reprocess-behavior", "completed", "--max-active-runs", "1"]
    locked = False
    for _ in range(5):
        result = subprocess.run([AIRFLOW, *args], env=server_env(base), capture_output=True)
        # SQLite: clearing completed runs can race the scheduler; Airflow then removes the
        # partial backfill, so trying again is safe...
        if result.returncode == 0 or b"database is locked" not in result.stderr:
            break
        locked = True
        time.sleep(1)
    # ...unless the attempt that reported the lock had created its backfill after all: the
    # next one is then refused as a second backfill, and the first one is ours.
    created = locked and b"AlreadyRunningBackfill" in result.stderr
    assert result.returncode == 0 or created, result.stderr[-3000:]
    backfill_id = _latest(Backfill.id, Backfill.dag_id == "daily")
    runs = _wait_for_runs(backfill_id)
    # The scheduler marks a backfill complete on a 30 s timer; cancelling a finished one
    # completes it now, so the next backfill may start (unless the timer was first).
    status, body = request(
        f"{base}/api/v2/backfills/{backfill_id}/cancel", method="PUT", bearer=token(base)
    )
    assert status == 200 or (status == 409 and "already completed" in str(body)), body
    _wait_until_completed(backfill_id)
    return {run_id: _references(run_id) for run_id in runs}


def _wait_until_completed(backfill_id: int) -> None:
    """The cancel route commits ``completed_at`` as its session closes, which may be after it
    answers; until then Airflow refuses the next backfill as ``AlreadyRunningBackfill``."""
    from airflow.models.backfill import Backfill

    deadline = time.monotonic() + 90  # the scheduler's own completion timer runs every 30 s
    while _latest(Backfill.completed_at, Backfill.id == backfill_id) is None:
        assert time.monotonic() < deadline, f"backfill {backfill_id} never completed"
        time.sleep(0.5)


def _latest(column, *where):
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    with create_session() as session:
        return session.scalar(select(func.max(column)).where(*where))


def _wait_for_runs(backfill_id: int) -> list[str]:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    deadline = time.monotonic() + 900  # the scheduler shares 2 cores with other servers
    while True:
        with create_session() as session:
            runs = session.execute(
                select(DagRun.run_id, DagRun.state).where(DagRun.backfill_id == backfill_id)
            ).all()
        if len(runs) == len(DATES) and all(state in ("success", "failed") for _, state in runs):
            assert {state for _, state in runs} == {"success"}, runs
            return sorted(run_id for run_id, _ in runs)
        assert time.monotonic() < deadline, f"backfill {backfill_id} did not finish: {runs}"
        time.sleep(1)


def _references(run_id: str) -> dict[str, dict]:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.scalars(
            select(XComModel).where(
                XComModel.dag_id == "daily",
                XComModel.run_id == run_id,
                XComModel.key == "return_value",
            )
        )
        return {row.task_id: XComModel.deserialize_value(row) for row in rows}


def noted(run_id: str) -> set[str]:
    """The task instances of a run with skipwise's reuse note (written by the plugin's
    listener in the scheduler, as the run finishes)."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        instances = session.scalars(
            select(TaskInstance).where(
                TaskInstance.dag_id == "daily", TaskInstance.run_id == run_id
            )
        )
        return {ti.task_id for ti in instances if (ti.note or "").startswith(PREFIX)}


def reused(references: dict[str, dict]) -> set[str]:
    return {task for task, ref in references.items() if ref["status"] == "reused"}


def statuses(runs: dict[str, dict[str, dict]]) -> dict[str, list[str]]:
    """task -> its status in each run (runs in date order)."""
    tasks = sorted(next(iter(runs.values())))
    return {task: [runs[run][task]["status"] for run in sorted(runs)] for task in tasks}


@pytest.mark.timeout(1800)
def test_backfill_after_an_edit_reruns_only_what_changed(project: Project, tmp_path) -> None:
    serialize_dags()
    with (
        api_server(PYTHONDONTWRITEBYTECODE="1") as base,
        started(
            ["scheduler", "--skip-serve-logs"],
            server_env(base, PYTHONDONTWRITEBYTECODE="1"),
            tmp_path / "scheduler.log",
        ),
    ):
        first = backfill(base)
        assert project.calls() == sorted(
            ["numbers"] * 4  # numbers once, numbers_of_day once per date
            + [f"on_day:{day}" for day in DATES]
            + [f"per_day:{day}" for day in DATES]
        )
        assert statuses(first) == {
            "numbers": ["computed", "reused", "reused"],
            "numbers_of_day": ["computed"] * 3,
            "on_day": ["computed"] * 3,
            "per_day": ["computed"] * 3,
        }

        # Airflow's grid marks the reused task instances: the scheduler wrote their notes.
        assert {run: noted(run) for run in first} == {run: reused(first[run]) for run in first}

        project.edit("minipipe/helpers.py", "SCALE = 2", "SCALE = 3")
        serialize_dags()
        second = backfill(base)
        assert {run: noted(run) for run in second} == {run: reused(second[run]) for run in second}
        assert sorted(second) == sorted(first)  # the same runs, cleared and run again
        assert project.calls() == [f"per_day:{day}" for day in DATES]  # each date once
        per_day = statuses(second).pop("per_day")
        assert statuses(second) == {
            "numbers": ["reused"] * 3,
            "numbers_of_day": ["reused"] * 3,
            "on_day": ["reused"] * 3,
            "per_day": per_day,
        }
        # Every date has a new per_day signature, computed in this backfill (its body ran
        # once per date, above). On a loaded machine Airflow may run a cleared task instance
        # a second time; that one reuses what the first computed, so its XCom says "reused".
        assert all(
            second[run]["per_day"]["signature"] != first[run]["per_day"]["signature"]
            for run in first
        )
        assert set(per_day) <= {"computed", "reused"} and "computed" in per_day
        # A reason compares with the latest result under the task's name: the first date
        # sees the edit, the next ones (already computed with it) their new upstream day.
        reasons = [second[run]["per_day"]["reason"] for run in sorted(second)]
        if per_day[0] == "computed":
            assert reasons[0].startswith("dependency minipipe.helpers:SCALE changed")
        for status, reason in zip(per_day[1:], reasons[1:], strict=True):
            if status == "computed":
                assert reason == "upstream result passed as 'day' changed"
    # The workers' task logs say what happened.
    [log] = (HOME / "logs" / "dag_id=daily").glob("run_id=*01-02*/task_id=on_day/attempt=2.log")
    assert "reused daily.on_day " in log.read_text()
