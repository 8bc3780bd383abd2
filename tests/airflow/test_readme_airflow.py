"""The README's Airflow example runs as written: a DAG file, run twice with ``dag.test()``."""

from __future__ import annotations

import re

import pendulum

from tests.airflow.conftest import DAGS, ROOT, Project, run_dag


def test_readme_airflow_example_runs(project: Project) -> None:
    from airflow.dag_processing.dagbag import DagBag

    section = (ROOT / "README.md").read_text().split("## Airflow\n", 1)[1]
    block = re.search(r"```python\n(.*?)```", section, re.S)
    assert block, "README's Airflow section has a python example"
    path = DAGS / "readme_numbers.py"
    path.write_text(block.group(1))
    [dag] = DagBag(collect_dags=False).process_file(str(path), only_if_updated=False)
    day = pendulum.datetime(2026, 3, 1, tz="UTC")  # extract declares ds: one date for both
    runs = [run_dag(dag, logical_date=day) for _ in range(2)]
    assert [run.values["report"] for run in runs] == [20, 20]
    assert [[run.status(t) for t in ("extract", "doubled")] for run in runs] == [
        ["computed", "computed"],
        ["reused", "reused"],
    ]
