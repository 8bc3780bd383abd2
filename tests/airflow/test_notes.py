"""Airflow's grid marks task instances that have a note: each task that reused gets one
(written when its run finishes); computed and plain tasks get none; a person's note is kept,
and our note goes when a cleared task computes. The grid itself is checked in
test_tab_browser.py."""

from __future__ import annotations

from skipwise.airflow.notes import PREFIX
from tests.airflow.conftest import Project, run_dag


def notes(dag_id: str, run_id: str) -> dict[str, str | None]:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        instances = session.scalars(
            select(TaskInstance).where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id)
        )
        return {ti.task_id: ti.note for ti in instances}


def test_reused_task_instances_get_a_note(project: Project) -> None:
    first = run_dag(project.dag("pipe"))
    assert all(note is None for note in notes("pipe", first.run_id).values())

    project.edit("minipipe/helpers.py", "SCALE = 2", "SCALE = 3")
    second = run_dag(project.dag("pipe"))
    written = notes("pipe", second.run_id)
    reused = {
        t for t, v in second.values.items() if isinstance(v, dict) and v.get("status") == "reused"
    }
    assert reused == {"numbers", "labels"}
    for task_id in reused:
        assert written[task_id].startswith(f"{PREFIX} the stored result ")
        assert second.signature(task_id)[:12] in written[task_id]
    assert {t for t, note in written.items() if note} == reused  # not computed, not plain


def set_note(dag_id: str, run_id: str, task_id: str, text: str) -> None:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        ti = session.scalars(
            select(TaskInstance).where(
                TaskInstance.dag_id == dag_id,
                TaskInstance.run_id == run_id,
                TaskInstance.task_id == task_id,
            )
        ).one()
        ti.note = text


def test_a_persons_note_is_kept_and_ours_goes_when_the_task_computes(project: Project) -> None:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    from skipwise.airflow.notes import _note_reuses

    run_dag(project.dag("pipe"))
    second = run_dag(project.dag("pipe"))
    assert notes("pipe", second.run_id)["scaled"].startswith(PREFIX)
    set_note("pipe", second.run_id, "numbers", "checked by Ana")
    # The run is cleared and scaled computes on its next try (its XCom says so); the run
    # finishes again and the listener runs again.
    computed = {**second.values["scaled"], "status": "computed", "reason": "forced"}
    with create_session() as session:
        from airflow.models.xcom import XComModel
        from sqlalchemy import update

        session.execute(
            update(XComModel)
            .where(
                XComModel.dag_id == "pipe",
                XComModel.run_id == second.run_id,
                XComModel.task_id == "scaled",
                XComModel.key == "return_value",
            )
            .values(value=XComModel.serialize_value(computed))
        )
    with create_session() as session:
        dag_run = session.query(DagRun).filter_by(dag_id="pipe", run_id=second.run_id).one()
        _note_reuses(dag_run)
    after = notes("pipe", second.run_id)
    assert after["numbers"] == "checked by Ana"
    assert after["scaled"] is None
    assert after["labels"].startswith(PREFIX)
