"""``@task.skipwise`` and ``SkipwiseOperator`` in real ``dag.test()`` runs: what executed (the
project's call log), what each task pushed, and what the store holds."""

from __future__ import annotations

import logging
from pathlib import Path

import pendulum
import pytest

from skipwise import config
from skipwise.store import FilesystemStore
from tests.airflow.conftest import Project, run_dag

SKIPWISE_TASKS = ["numbers", "scaled", "labels", "shifted", "summary"]
PLAIN_TASKS = ["offset", "report"]


def test_cold_warm_and_edited_runs(project: Project) -> None:
    cold = run_dag(project.dag("pipe"))
    assert cold.state == "success"
    assert set(cold.states.values()) == {"success"}
    assert project.calls() == sorted(SKIPWISE_TASKS + PLAIN_TASKS)
    assert [cold.status(t) for t in SKIPWISE_TASKS] == ["computed"] * 5
    # (0 + 2 + 4) + 3 * 10: the plain task downstream got the object with load()
    assert cold.values["report"] == "total=36"

    warm = run_dag(project.dag("pipe"))
    assert set(warm.states.values()) == {"success"}  # a hit succeeds, it is not skipped
    assert project.calls() == PLAIN_TASKS  # no skipwise callable ran
    assert [warm.status(t) for t in SKIPWISE_TASKS] == ["reused"] * 5
    assert warm.values["report"] == "total=36"
    assert all(warm.signature(t) == cold.signature(t) for t in SKIPWISE_TASKS)

    project.edit("minipipe/helpers.py", "SCALE = 2", "SCALE = 3")
    edited = run_dag(project.dag("pipe"))
    assert set(edited.states.values()) == {"success"}
    assert project.calls() == sorted(["scaled", "shifted", "summary", *PLAIN_TASKS])
    assert {t: edited.status(t) for t in SKIPWISE_TASKS} == {
        "numbers": "reused",
        "scaled": "computed",
        "labels": "reused",
        "shifted": "computed",
        "summary": "computed",
    }
    assert edited.values["summary"]["reason"] == "upstream result passed as 'shifted' changed"
    assert edited.values["report"] == "total=39"


def test_a_run_conf_forces_tasks_and_only_changed_output_reruns_downstream(
    project: Project,
) -> None:
    run_dag(project.dag("pipe"))
    project.calls()
    forced = run_dag(project.dag("pipe"), run_conf={"skipwise_force": ["scaled", "label*"]})
    # Both recompute the same output: what consumes them is reused (early cutoff).
    assert project.calls() == sorted(["labels", "scaled", *PLAIN_TASKS])
    assert forced.values["scaled"]["reason"] == "forced: recompute requested"
    assert [forced.status(t) for t in ("shifted", "summary")] == ["reused", "reused"]


def test_a_plain_upstream_is_signed_by_its_value(project: Project) -> None:
    run_dag(project.dag("pipe"))
    project.calls()
    project.edit("minipipe/helpers.py", "OFFSET = 10", "OFFSET = 20")
    run = run_dag(project.dag("pipe"))
    assert project.calls() == sorted(["shifted", "summary", *PLAIN_TASKS])
    assert run.values["shifted"]["reason"] == "argument 'offset' changed"
    assert run.values["report"] == "total=66"


def test_xcom_is_a_small_reference_and_a_hit_loads_nothing(
    project: Project, monkeypatch: pytest.MonkeyPatch, isolated_store: Path
) -> None:
    cold = run_dag(project.dag("pipe"))
    loaded: list[str] = []
    load = FilesystemStore.load

    def spy(store, manifest):
        loaded.append(manifest.name)
        return load(store, manifest)

    monkeypatch.setattr(FilesystemStore, "load", spy)
    warm = run_dag(project.dag("pipe"))
    assert loaded == ["pipe.summary"]  # only the plain report task's load() call
    assert warm.values["scaled"] == {
        "skipwise": 1,
        "name": "pipe.scaled",
        "signature": cold.signature("scaled"),
        "store": str(isolated_store),
        "codec": "json",
        "status": "reused",
        "reason": "unchanged",
        "instance": "",
    }
    assert "summary" in warm.values and len(warm.values) == 7  # -> dict: no multiple outputs


def test_task_log_says_what_happened(
    project: Project, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level("INFO", logger="skipwise")
    # dag.test() may reconfigure Airflow's logging and drop the root handler caplog uses:
    # capture on skipwise's own logger (a record seen twice only repeats a line in the text).
    skipwise_logger = logging.getLogger("skipwise")
    monkeypatch.setattr(skipwise_logger, "handlers", [*skipwise_logger.handlers, caplog.handler])
    cold = run_dag(project.dag("pipe"))
    signature = cold.signature("scaled")[:12]
    assert f"computing pipe.scaled {signature}: new: no earlier result" in caplog.text
    caplog.clear()
    run_dag(project.dag("pipe"))
    assert f"reused pipe.scaled {signature} (computed " in caplog.text
    assert f" by pipe/scaled/{cold.run_id})" in caplog.text
    caplog.clear()
    project.edit("minipipe/helpers.py", "SCALE = 2", "SCALE = 3")
    run_dag(project.dag("pipe"))
    assert "computing pipe.scaled" in caplog.text
    assert "dependency minipipe.helpers:SCALE changed" in caplog.text


def test_an_error_leaves_nothing_in_the_store(project: Project) -> None:
    run = run_dag(project.dag("broken"))
    assert run.state == "failed"
    assert run.states == {"numbers": "success", "broken": "failed"}
    assert project.calls() == ["broken", "numbers"]
    store = config.current_store()
    assert [m.name for m in store.manifests()] == ["broken.numbers"]
    assert store.pointer("broken.broken") is None
    assert list(store.leftovers()) == []
    run_dag(project.dag("broken"))
    assert project.calls() == ["broken"]  # tried again, never served


def test_dates_enter_only_when_the_callable_declares_them(project: Project) -> None:
    daily = project.dag("daily")
    first = run_dag(daily, logical_date=pendulum.datetime(2024, 1, 1, tz="UTC"))
    assert set(first.states.values()) == {"success"}
    assert project.calls() == ["numbers", "numbers", "on_day:2024-01-01", "per_day:2024-01-01"]
    second = run_dag(daily, logical_date=pendulum.datetime(2024, 1, 2, tz="UTC"))
    # numbers ignores the date; on_day declares ds; per_day gets a new upstream result;
    # numbers_of_day is partitioned by "{{ ds }}" (signed as a partition, not passed)
    assert project.calls() == ["numbers", "on_day:2024-01-02", "per_day:2024-01-02"]
    assert second.status("numbers") == "reused"
    assert second.status("numbers_of_day") == "computed"
    assert second.values["numbers_of_day"]["reason"] == "partition changed"
    # Another run of the first date (another run id, and try numbers): everything is reused.
    again = run_dag(daily, logical_date=pendulum.datetime(2024, 1, 1, tz="UTC"))
    assert again.run_id != first.run_id
    assert project.calls() == []
    assert {again.signature(t) for t in again.values} == {first.signature(t) for t in first.values}
    # A manual run without a logical date still reuses what does not depend on one.
    manual = run_dag(daily, logical_date=None)
    assert manual.status("numbers") == "reused"


def test_asset_events_on_a_hit_are_tagged_as_reuse(project: Project) -> None:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    day = pendulum.datetime(2024, 1, 1, tz="UTC")
    daily = project.dag("daily")
    for _ in range(2):
        run_dag(daily, logical_date=day)
    with create_session() as session:
        events = session.scalars(
            select(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetModel.name == "minipipe://numbers")
            .order_by(AssetEvent.id)
        ).all()
        extras = [event.extra["skipwise"]["status"] for event in events]
    assert extras[-2:] == ["computed", "reused"]
