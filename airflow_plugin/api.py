"""The plugin's FastAPI app, mounted by the API server at ``/skipwise``.

It reads the serialized DAG (each task's parse-time record), the latest run's XCom references
and the store; it never imports user code. Every route needs Airflow's read permission on the
DAG (a bearer token, or the UI's ``_token`` cookie inside the tab's iframe).
"""

from __future__ import annotations

from typing import Any

from airflow.api_fastapi.common.db.common import SessionDep
from airflow.api_fastapi.core_api.security import requires_access_dag
from airflow.models.dag import DagModel
from airflow.models.dagrun import DagRun
from airflow.models.serialized_dag import SerializedDagModel
from airflow.models.xcom import XComModel
from fastapi import Depends, FastAPI, HTTPException
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from skipwise.airflow import page, tab
from skipwise.airflow.dagplan import DagPlan, plan_dag, serialized_tasks
from skipwise.airflow.parsed import parse_view
from skipwise.airflow.reference import pushed_reference
from skipwise.airflow.stores import task_store
from skipwise.host import Store

app = FastAPI(title="skipwise", description="Signatures of Airflow tasks run by skipwise.")
_CAN_READ_DAG = [Depends(requires_access_dag("GET"))]


@app.get("/api/dags/{dag_id}", dependencies=_CAN_READ_DAG)
def dag_signatures(dag_id: str, session: SessionDep) -> dict[str, Any]:
    """Every task's status for the next run, why, and what its latest run did."""
    store = _store()
    dag_plan, run_id, runs = _load(dag_id, session, store)
    return tab.dag_view(dag_plan, store, run_id, runs, _parsed(dag_plan, session))


@app.get("/api/dags/{dag_id}/tasks/{task_id}", dependencies=_CAN_READ_DAG)
def task_signature(dag_id: str, task_id: str, session: SessionDep) -> dict[str, Any]:
    """One task: its status, what changed, and the signature tree of its stored result."""
    store = _store()
    dag_plan, _, runs = _load(dag_id, session, store)
    _require_task(dag_plan, task_id)
    return tab.task_view(dag_plan, task_id, store, runs)


@app.get("/dags/{dag_id}/view", response_class=HTMLResponse, dependencies=_CAN_READ_DAG)
def signatures_tab(dag_id: str, session: SessionDep, task: str | None = None) -> str:
    """The Signatures tab (an iframe in the Airflow UI); ``task`` selects a task."""
    store = _store()
    dag_plan, run_id, runs = _load(dag_id, session, store)
    selected = None
    if task is not None:
        _require_task(dag_plan, task)
        selected = tab.task_view(dag_plan, task, store, runs)
    view = tab.dag_view(dag_plan, store, run_id, runs, _parsed(dag_plan, session))
    return page.render(view, dag_plan.status_graph(), selected)


def _load(dag_id: str, session: Session, store: Store) -> tuple[DagPlan, str | None, tab.Runs]:
    serialized = SerializedDagModel.get(dag_id, session=session)
    if serialized is None:
        raise HTTPException(404, f"no DAG {dag_id!r}")
    dag_plan = plan_dag(dag_id, serialized_tasks(serialized.data["dag"]), store)
    run_id = session.scalar(
        select(DagRun.run_id)
        .where(DagRun.dag_id == dag_id)
        .order_by(DagRun.run_after.desc(), DagRun.id.desc())
        .limit(1)
    )
    if run_id is None:
        return dag_plan, None, {}
    rows = session.scalars(
        select(XComModel)
        .where(
            XComModel.dag_id == dag_id,
            XComModel.run_id == run_id,
            XComModel.key == "return_value",
        )
        .order_by(XComModel.task_id, XComModel.map_index)
    )
    runs: dict[str, dict[int, Any]] = {}
    for row in rows:
        reference = pushed_reference(XComModel.deserialize_value(row))
        if reference is not None:
            runs.setdefault(row.task_id, {})[row.map_index] = reference
    return dag_plan, run_id, runs


def _parsed(dag_plan: DagPlan, session: Session) -> dict[str, Any]:
    """When the DAG processor last parsed the DAG, and its code files changed on disk since."""
    dag = session.get(DagModel, dag_plan.dag_id)
    if dag is None:
        return parse_view(None, None, None, ())
    return parse_view(dag.last_parsed_time, dag.fileloc, dag.relative_fileloc, dag_plan.tasks)


def _store() -> Store:
    """The workers' default store, from the same configuration (the skipwise connection,
    airflow.cfg, ``$SKIPWISE_STORE``). A task with a ``store=`` of its own keeps its results
    elsewhere: the tab's warning names that store."""
    return task_store().store


def _require_task(dag_plan: DagPlan, task_id: str) -> None:
    if all(t.task_id != task_id for t in dag_plan.tasks):
        raise HTTPException(404, f"DAG {dag_plan.dag_id!r} has no task {task_id!r}")
