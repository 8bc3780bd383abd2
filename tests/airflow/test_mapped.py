"""Mapped skipwise tasks in real ``dag.test()`` runs: ``.expand()`` over a skipwise result maps
over its data (one reference per element), each index is signed by its element, a reducer and
a plain task downstream get the values, and a result that cannot be mapped over fails before
any mapped body runs."""

from __future__ import annotations

import textwrap

import pytest

from skipwise import config
from tests.airflow.conftest import DAGS, Project, run_dag

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

        @dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"))
        def unmappable():
            task.skipwise(fan.item).expand(x=task.skipwise(fan.scalar)())

        the_dag = unmappable()
    """,
}


@pytest.fixture
def fan(project: Project) -> Project:
    for name, source in FILES.items():
        (DAGS / name).write_text(textwrap.dedent(source).lstrip())
    return project


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
    assert fan.calls() == ["scalar"]
    assert run.states == {"scalar": "failed", "item": "upstream_failed"}
    assert (
        "scalar: item maps over this task's result, which must be a list, a tuple or a dict "
        "with string keys" in "".join(capfd.readouterr())
    )
    assert config.current_store().pointer("unmappable.scalar") is not None  # it is stored
