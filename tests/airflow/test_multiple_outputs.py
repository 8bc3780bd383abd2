"""``multiple_outputs=True`` on skipwise tasks, in real ``dag.test()`` runs: a dict of two
DataFrames is stored once, each key's XCom is a reference to its item, and what consumes one
item is signed by it."""

from __future__ import annotations

import pytest

from skipwise import config
from tests.airflow.conftest import Project, run_dag
from tests.parts_project import CONSUMERS, STEPS

FILES = {
    "minipipe/parts.py": STEPS
    + """
def rows(n: int = 3):
    record("rows")
    return list(range(n))
""",
    "parts.py": """
        import pendulum
        from airflow.sdk import dag, task

        from minipipe import parts
        from skipwise.airflow import SkipwiseOperator

        @dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"))
        def parts_dag():
            split = task.skipwise(parts.split, multiple_outputs=True)()
            task.skipwise(parts.total_even)(split["even"])
            SkipwiseOperator(
                task_id="total_odd", python_callable=parts.total_odd, op_args=[split["odd"]]
            )
            SkipwiseOperator(
                task_id="rows", python_callable=parts.rows, multiple_outputs=True
            )

        the_dag = parts_dag()
    """,
}


@pytest.fixture
def parts(project: Project) -> Project:
    return project.add(FILES)


def test_one_reference_per_key_each_consumer_signed_by_its_item(
    parts: Project, capfd: pytest.CaptureFixture[str]
) -> None:
    cold = run_dag(parts.dag("parts"))
    assert parts.calls() == ["rows", "split", "total_even", "total_odd"]
    assert {t: cold.states[t] for t in ["split", *CONSUMERS]} == dict.fromkeys(
        ["split", *CONSUMERS], "success"
    )
    references = cold.values["split"]  # return_value: the dict of item references
    assert {key: ref["item"] for key, ref in references.items()} == {"even": "even", "odd": "odd"}
    assert references["even"]["signature"] == references["odd"]["signature"]
    assert references["even"]["status"] == "computed"
    assert [cold.values[t]["status"] for t in CONSUMERS] == ["computed", "computed"]
    assert cold.signature("total_even") != cold.signature("total_odd")
    stored = config.current_store()
    assert [stored.load(stored.manifest(cold.signature(t))) for t in CONSUMERS] == [6, 4]

    # A result that is no dict fails its task by name; it is stored, and a hit fails alike.
    assert cold.states["rows"] == "failed"
    assert "rows: multiple_outputs=True needs a result that is a dict" in "".join(
        capfd.readouterr()
    )
    assert stored.pointer("parts_dag.rows") is not None

    warm = run_dag(parts.dag("parts"))
    assert parts.calls() == []  # no body ran, not even the failing task's
    assert warm.values["split"] == {
        key: {**ref, "status": "reused", "reason": "unchanged"} for key, ref in references.items()
    }
    assert [warm.status(t) for t in CONSUMERS] == ["reused", "reused"]
    assert warm.states["rows"] == "failed"

    parts.edit("minipipe/parts.py", "int(odd.x.sum())", "int(odd.x.sum()) * 10")
    edited = run_dag(parts.dag("parts"))
    assert parts.calls() == ["total_odd"]
    assert [edited.status(t) for t in CONSUMERS] == ["reused", "computed"]
    assert stored.load(stored.manifest(edited.signature("total_odd"))) == 40
