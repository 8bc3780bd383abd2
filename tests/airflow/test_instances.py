"""Pipeline instances in real ``dag.test()`` runs: the DAG param ``skipwise_instance`` picks
the instance of a run; instances keep their own pointers, share identical signatures, and
``mini`` derives a smaller input."""

from __future__ import annotations

from skipwise import config
from tests.airflow.conftest import Project, run_dag

DAG_FILE = """
    import pendulum
    from airflow.sdk import dag, task

    import skipwise
    from minipipe import steps

    skipwise.Instance("mini", derive={"instanced.numbers": lambda args: {"n": 2}})

    @dag(
        schedule=None,
        start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
        params={"skipwise_instance": ""},
    )
    def instanced():
        numbers = task.skipwise(steps.numbers)(n=5)
        task.skipwise(steps.labels)(numbers)
        task.skipwise(steps.offset)()

    the_dag = instanced()
"""
TASKS = ["numbers", "labels", "offset"]


def test_runs_in_two_instances_do_not_overwrite_each_other(project: Project) -> None:
    project.add({"instanced.py": DAG_FILE})
    store = config.current_store()

    full = run_dag(project.dag("instanced"), run_conf={"skipwise_instance": "full"})
    assert set(full.states.values()) == {"success"}
    assert project.calls() == sorted(TASKS)
    assert {full.values[t]["instance"] for t in TASKS} == {"full"}

    mini = run_dag(project.dag("instanced"), run_conf={"skipwise_instance": "mini"})
    assert set(mini.states.values()) == {"success"}
    # mini derives numbers(n=2): numbers and labels are its own; offset is full's, served.
    assert project.calls() == ["labels", "numbers"]
    assert {t: mini.status(t) for t in TASKS} == {
        "numbers": "computed",
        "labels": "computed",
        "offset": "reused",
    }
    assert mini.signature("offset") == full.signature("offset")
    assert store.load(store.manifest(mini.signature("labels"))) == ["#0", "#1"]

    for task_id in TASKS:
        name = f"instanced.{task_id}"
        assert store.pointer(name, "full").signature == full.signature(task_id)
        assert store.pointer(name, "mini").signature == mini.signature(task_id)
        assert store.pointer(name, "full").history == ()  # mini never moved full's pointer
        assert store.pointer(name) is None  # nor the unnamed instance's

    again = run_dag(project.dag("instanced"), run_conf={"skipwise_instance": "full"})
    assert project.calls() == []
    assert [again.status(t) for t in TASKS] == ["reused"] * 3


def test_a_bad_instance_param_fails_the_task_and_stores_nothing(project: Project) -> None:
    project.add({"instanced.py": DAG_FILE})
    run = run_dag(project.dag("instanced"), run_conf={"skipwise_instance": "x; drop"})
    assert run.states["numbers"] == "failed"
    assert project.calls() == []
    assert list(config.current_store().pointers()) == []
