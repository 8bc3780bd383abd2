"""The tab's explanation without a server: the source diff of what changed (from the serialized
DAG and the store, as the API server has them), a signature tree that agrees with the DAG
picture, and when the DAG was parsed against the code on disk."""

from __future__ import annotations

import os
import time

from skipwise.airflow import api
from tests.airflow.conftest import Project, run_dag, serialize_dags


def routes(dag_id: str, task_id: str | None = None) -> dict:
    from airflow.utils.session import create_session

    with create_session() as session:
        if task_id is None:
            return api.dag_signatures(dag_id, session)
        return api.task_signature(dag_id, task_id, session)


def test_a_changed_constant_shows_its_diff_and_the_upstream_that_causes_a_rerun(
    project: Project,
) -> None:
    run_dag(project.dag("pipe"))
    project.edit("minipipe/helpers.py", "SCALE = 2", "SCALE = 3")
    serialize_dags()

    scaled = routes("pipe", "scaled")
    [diff] = scaled["explanation"]["diffs"]
    assert diff["subject"] == "minipipe.helpers:SCALE"
    assert (diff["before"], diff["after"]) == ("2", "3")  # "now" from the serialized DAG
    assert diff["diff"].splitlines()[-2:] == ["-2", "+3"]
    assert scaled["explanation"]["origin"] is None
    assert scaled["sources"]["minipipe.helpers:scale"].startswith("def scale(x):")

    shifted = routes("pipe", "shifted")
    assert shifted["status"] == "rerun-upstream"
    assert shifted["explanation"]["origin"]["task_id"] == "scaled"
    assert shifted["explanation"]["diffs"] == scaled["explanation"]["diffs"]
    # The DAG picture says scaled reruns: so does the argument it fed in shifted's tree.
    assert 'data-id="arg:scaled" data-status="rerun-code"' in shifted["picture"]
    assert 'data-id="arg:offset" data-status="unchanged"' in shifted["picture"]

    from airflow.utils.session import create_session

    with create_session() as session:
        html = api.signatures_tab("pipe", session, task="shifted")
    assert "<details class='change' data-subject='minipipe.helpers:SCALE'>" in html
    assert "Because upstream <code>scaled</code> reruns" in html


def test_the_tab_says_when_code_on_disk_is_newer_than_the_parse(project: Project) -> None:
    run_dag(project.dag("pipe"))
    serialize_dags()
    parsed = routes("pipe")["parsed"]
    assert parsed["at"] is not None and parsed["checked"]
    assert parsed["newer"] == []

    project.edit("minipipe/helpers.py", "SCALE = 2", "SCALE = 3")  # not parsed yet
    helpers = project.folder / "minipipe" / "helpers.py"
    later = time.time() + 1  # an mtime after the parse, whatever the clock's resolution
    os.utime(helpers, (later, later))
    view = routes("pipe")
    assert view["parsed"]["newer"] == ["minipipe/helpers.py"]
    assert {t["task_id"]: t["status"] for t in view["tasks"]}["scaled"] == "reuse"  # as parsed

    os.utime(helpers, (time.time() - 5,) * 2)  # back before the parse that follows
    serialize_dags()
    view = routes("pipe")
    assert view["parsed"]["newer"] == []
    assert {t["task_id"]: t["status"] for t in view["tasks"]}["scaled"] == "rerun-code"
