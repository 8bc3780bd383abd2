"""Mapped skipwise tasks in real ``dag.test()`` runs: ``.expand()`` over a skipwise result maps
over its data (one reference per element), each index is signed by its element, a reducer and
a plain task downstream get the values, and a result that cannot be mapped over fails before
any mapped body runs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from skipwise import config
from tests.airflow.conftest import DAGS, Project, run_dag, serialize_dags

FILES = {
    "minipipe/fan.py": """
        import skipwise.airflow
        from minipipe.counter import record
        from minipipe.helpers import scale

        def seed(n: int = 4):
            record("seed")
            return [x * 10 for x in range(n)]

        def item(x):
            record(f"item:{x}")
            return scale(x) + 1

        def total(items):
            record(f"total:{len(items)}")
            return sum(items)

        def plain_total(items):  # run by a plain task
            record("plain_total")
            return sum(skipwise.airflow.load(items))

        def whole(numbers):  # not mapped: receives the whole result
            record(f"whole:{type(numbers).__name__}")
            return numbers

        def table():
            record("table")
            return {"a": 1, "b": 2}

        def pair(kv):
            record(f"pair:{kv[0]}={kv[1]}")
            return kv

        def scalar():
            record("scalar")
            return 7

        def rows():
            record("rows")
            return [{"kv": ["a", 1]}]
    """,
    "fan.py": """
        import pendulum
        from airflow.sdk import dag, task

        from minipipe import fan

        @dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"))
        def fan_dag():
            numbers = task.skipwise(fan.seed)(n=4)
            items = task.skipwise(fan.item).expand(x=numbers)
            task.skipwise(fan.total)(items)
            task(fan.plain_total)(items)
            task.skipwise(fan.whole)(numbers)
            task.skipwise(fan.pair).expand(kv=task.skipwise(fan.table)())

        the_dag = fan_dag()
    """,
    "unmappable.py": """
        import pendulum
        from airflow.sdk import dag, task

        from minipipe import fan
        from skipwise.airflow import SkipwiseOperator

        @dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"))
        def unmappable():
            task.skipwise(fan.item).expand(x=task.skipwise(fan.scalar)())
            rows = task.skipwise(fan.rows)()
            task.skipwise(fan.pair, task_id="by_kwargs").expand_kwargs(rows)
            SkipwiseOperator.partial(task_id="classic", python_callable=fan.pair).expand(
                op_kwargs=rows
            )
            # a classic operator mapped over a literal list: one result per partition
            SkipwiseOperator.partial(task_id="parted", python_callable=fan.table).expand(
                partition=["p1", "p2"]
            )

        the_dag = unmappable()
    """,
}


@pytest.fixture
def fan(project: Project) -> Project:
    return project.add(FILES)


def stored(reference: dict) -> object:
    store = config.current_store()
    return store.load(store.manifest(reference["signature"]))


ITEMS = ["item:0", "item:10", "item:20", "item:30"]


def test_a_mapped_task_maps_over_the_data_and_each_index_is_signed_by_its_element(
    fan: Project,
) -> None:
    cold = run_dag(fan.dag("fan"))
    assert cold.state == "success", cold.states
    assert fan.calls() == sorted(
        [*ITEMS, "pair:a=1", "pair:b=2", "plain_total", "seed", "table", "total:4", "whole:list"]
    )
    items = cold.mapped["item"]
    assert [stored(items[i]) for i in range(4)] == [1, 21, 41, 61]  # scale(x) + 1
    assert [items[i]["status"] for i in range(4)] == ["computed"] * 4
    assert len({items[i]["signature"] for i in range(4)}) == 4
    assert stored(cold.values["total"]) == 124
    assert cold.values["plain_total"] == 124
    assert stored(cold.values["whole"]) == [0, 10, 20, 30]
    assert [stored(cold.mapped["pair"][i]) for i in range(2)] == [("a", 1), ("b", 2)]
    # What the seed pushed: one reference per element of its stored result.
    parts = cold.values["seed"]
    assert [(p["item"], p["parts"]) for p in parts] == [(i, 4) for i in range(4)]
    assert len({p["signature"] for p in parts}) == 1
    assert stored(parts[0]) == [0, 10, 20, 30]

    warm = run_dag(fan.dag("fan"))
    assert fan.calls() == ["plain_total"]  # a plain task always runs; no skipwise body did
    assert [warm.mapped["item"][i]["status"] for i in range(4)] == ["reused"] * 4
    assert [warm.mapped["item"][i]["signature"] for i in range(4)] == [
        items[i]["signature"] for i in range(4)
    ]
    assert warm.status("total") == warm.status("whole") == "reused"
    assert warm.values["plain_total"] == 124

    fan.edit("minipipe/fan.py", "return scale(x) + 1", "return scale(x) + 2")
    edited = run_dag(fan.dag("fan"))
    assert fan.calls() == sorted([*ITEMS, "plain_total", "total:4"])
    assert [stored(edited.mapped["item"][i]) for i in range(4)] == [2, 22, 42, 62]
    assert stored(edited.values["total"]) == 128

    # The seed's code changes but its data does not: only the seed reruns.
    fan.edit("minipipe/fan.py", "[x * 10 for x in range(n)]", "[10 * x for x in range(n)]")
    same = run_dag(fan.dag("fan"))
    assert fan.calls() == ["plain_total", "seed"]
    assert [same.mapped["item"][i]["status"] for i in range(4)] == ["reused"] * 4

    # Its data changes: every index reruns, and what consumes them.
    fan.edit("minipipe/fan.py", "[10 * x for x in range(n)]", "[10 * x + 1 for x in range(n)]")
    changed = run_dag(fan.dag("fan"))
    assert fan.calls() == sorted(
        ["item:1", "item:11", "item:21", "item:31", "plain_total", "seed", "total:4", "whole:list"]
    )
    assert stored(changed.values["total"]) == 4 + 24 + 44 + 64


def test_expanding_over_a_result_that_is_no_collection_fails_before_any_mapped_body(
    fan: Project, capfd: pytest.CaptureFixture[str]
) -> None:
    run = run_dag(fan.dag("unmappable"))
    assert fan.calls() == ["rows", "scalar", "table", "table"]
    assert {t: run.states[t] for t in ("scalar", "item", "by_kwargs", "classic")} == {
        "scalar": "failed",
        "item": "upstream_failed",
        "by_kwargs": "failed",  # expand_kwargs(): one element would be all the arguments
        "classic": "failed",
    }
    log = "".join(capfd.readouterr())
    assert (
        "scalar: item maps over this task's result, which must be a list, a tuple or a dict "
        "with string keys" in log
    )
    assert "classic: its op_kwargs would be one element of a skipwise result" in log
    assert config.current_store().pointer("unmappable.scalar") is not None  # it is stored
    parted = run.mapped["parted"]
    assert parted[0]["signature"] != parted[1]["signature"]  # signed by their partitions


def test_plan_and_tab_show_a_mapped_task_per_map_index(fan: Project) -> None:
    from airflow.utils.session import create_session

    from skipwise.airflow import api, page, tab

    ran = run_dag(fan.dag("fan"))
    run_dag(fan.dag("unmappable"))
    fan.calls()
    fan.edit("minipipe/fan.py", "return scale(x) + 1", "return scale(x) + 2")
    fan.edit("minipipe/fan.py", '{"a": 1, "b": 2}', '{"a": 1, "b": 3}')  # what pair maps over
    serialize_dags()  # what the DAG processor does after the edit: the API server sees it
    store = config.current_store()
    with create_session() as session:
        dag_plan, run_id, runs = api._load("fan_dag", session, store)
    assert run_id == ran.run_id
    view = tab.dag_view(dag_plan, store, run_id, runs)
    tasks = {t["task_id"]: t for t in view["tasks"]}
    assert {t: (tasks[t]["status"], tasks[t]["map_indexes"] is not None) for t in tasks} == {
        "seed": ("reuse", False),
        "item": ("rerun-code", True),
        "total": ("rerun-upstream", False),
        "plain_total": ("unmanaged", False),
        "whole": ("reuse", False),
        "table": ("rerun-code", False),
        "pair": ("rerun-upstream", True),
    }
    assert tasks["item"]["name"] == "fan_dag.item"
    assert [(i["map_index"], i["last_run"]["signature"]) for i in tasks["item"]["map_indexes"]] == [
        (i, ran.mapped["item"][i]["signature"]) for i in range(4)
    ]
    assert tasks["seed"]["last_run"]["signature"] == ran.values["seed"][0]["signature"]

    selected = tab.task_view(dag_plan, "item", store, runs)
    assert [c["text"] for c in selected["changes"]] == ["own code changed (minipipe.fan:item)"]
    html = page.render(view, dag_plan.status_graph(), selected)
    for i in range(4):
        assert f"<code>item[{i}]</code>" in html
        assert f"<tr data-map-index='{i}'><td>{i}</td><td>computed: " in html

    # A classic operator mapped with partial(): its record travels as well.
    with create_session() as session:
        other_plan, _, other_runs = api._load("unmappable", session, store)
    parted = tab.dag_view(other_plan, store, None, other_runs)["tasks"]
    parted_view = next(t for t in parted if t["task_id"] == "parted")
    assert parted_view["status"] == "rerun-code"  # it runs fan.table too
    assert [i["last_run"]["status"] for i in parted_view["map_indexes"]] == ["computed"] * 2

    # `skipwise plan` on the DAG file: one line per mapped task, marked.
    result = subprocess.run(
        [sys.executable, "-m", "skipwise.cli", "plan", "fan.py", "-f", "json"],
        cwd=DAGS,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    statuses = {i["label"]: i["status"] for i in json.loads(result.stdout)["items"]}
    assert statuses == {
        "seed": "reuse",
        "item [mapped]": "rerun-code",
        "total": "rerun-upstream",
        "plain_total": "unmanaged",
        "whole": "reuse",
        "table": "rerun-code",
        "pair [mapped]": "rerun-upstream",
    }
