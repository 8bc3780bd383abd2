"""A reuse made visible in Airflow's own grid: a task-instance note on each task that reused.

Airflow 3.3's grid marks a task instance that has a note (``has_note``) and shows the note in
its details; reused and computed tasks are otherwise the same green. A task cannot write its own
note (workers have no database access and the execution API has no route for notes), so this
listener, which Airflow calls where the run's state is decided (the scheduler, ``dag.test()``)
in the caller's session, writes them when the run finishes: one per reused task instance
(per map index), read from the skipwise reference it pushed. A note someone already wrote is
kept; our own note goes when a cleared task instance computed on its next try.
"""

from __future__ import annotations

from typing import Any

from airflow.listeners import hookimpl

PREFIX = "skipwise: reused"


def note_text(reference: dict[str, Any]) -> str:
    """The note of a reused task instance: what it reused and why (at most 1000 characters,
    the column's size)."""
    text = (
        f"{PREFIX} the stored result {reference['signature'][:12]} of {reference['name']} "
        f"({reference['reason']}); the task's code did not run."
    )
    return text[:1000]


@hookimpl
def on_dag_run_success(dag_run: Any, msg: str) -> None:
    _note_reuses(dag_run)


@hookimpl
def on_dag_run_failed(dag_run: Any, msg: str) -> None:
    _note_reuses(dag_run)


def _note_reuses(dag_run: Any) -> None:
    from airflow import settings
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from sqlalchemy import select
    from sqlalchemy.orm import object_session

    from skipwise.airflow.reference import pushed_reference
    from skipwise.host import Status

    # The caller's session: the scheduler's, or dag.test()'s thread-local one (its run object
    # is detached there). The caller commits; a session of our own could wait on its locks.
    session = object_session(dag_run) or settings.Session()
    rows = session.scalars(
        select(XComModel).where(
            XComModel.dag_id == dag_run.dag_id,
            XComModel.run_id == dag_run.run_id,
            XComModel.key == "return_value",
        )
    )
    pushed = {}
    for row in rows:
        reference = pushed_reference(XComModel.deserialize_value(row))
        if reference is not None:
            pushed[(row.task_id, row.map_index)] = reference
    if not pushed:
        return
    instances = session.scalars(
        select(TaskInstance).where(
            TaskInstance.dag_id == dag_run.dag_id, TaskInstance.run_id == dag_run.run_id
        )
    )
    for ti in instances:
        reference = pushed.get((ti.task_id, ti.map_index))
        if reference is None or not (ti.note is None or ti.note.startswith(PREFIX)):
            continue  # not a skipwise task, or a person's note
        if reference.get("status") == Status.REUSED:
            ti.note = note_text(reference)
        elif ti.task_instance_note is not None:
            session.delete(ti.task_instance_note)
    session.flush()
