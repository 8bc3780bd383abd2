"""The tab's data without a server: plans from the serialized DAG (what the API server has), a
code graph too large for a template field, and a run that used another store."""

from __future__ import annotations

from pathlib import Path

import pytest

from skipwise import config
from skipwise.airflow.dagplan import PARTIAL_GRAPH, plan_dag, serialized_tasks
from tests.airflow.conftest import Project, run_dag, serialize_dags


def serialized_plan(dag_id: str):
    from airflow.models.serialized_dag import SerializedDagModel
    from airflow.utils.session import create_session

    with create_session() as session:
        data = SerializedDagModel.get(dag_id, session=session).data["dag"]
    tasks = serialized_tasks(data)
    return tasks, plan_dag(dag_id, tasks, config.current_store())


def test_a_graph_too_large_for_the_serialized_dag_still_gives_the_status(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dag(project.dag("pipe"))
    project.edit("minipipe/helpers.py", "SCALE = 2", "SCALE = 3")
    monkeypatch.setenv("AIRFLOW__CORE__MAX_TEMPLATED_FIELD_LENGTH", "300")
    serialize_dags()
    tasks, dag_plan = serialized_plan("pipe")
    records = {t.task_id: t.record for t in tasks if t.record is not None}
    assert not records["scaled"].complete  # only the code digest travelled
    statuses = {i.label: (i.status, i.cause) for i in dag_plan.plan.items}
    assert statuses["scaled"] == ("rerun-code", PARTIAL_GRAPH)
    assert statuses["numbers"] == ("reuse", "unchanged")
    assert statuses["shifted"][0] == "rerun-upstream"


def test_the_tab_warns_when_the_api_server_reads_another_store(
    project: Project, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from airflow.utils.session import create_session

    from skipwise.airflow import api

    ran = run_dag(project.dag("pipe"))
    used = config.current_store().url
    monkeypatch.setenv("SKIPWISE_STORE", str(tmp_path / "elsewhere"))
    with create_session() as session:
        view = api.dag_signatures("pipe", session)  # the route: the store as workers resolve it
    assert view["latest_run"] == ran.run_id
    assert used in view["warning"]
    assert {t["status"] for t in view["tasks"]} == {"new", "unmanaged"}
