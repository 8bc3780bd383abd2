"""The skipwise demo: run the taxi pipeline cold, warm, and after editing one helper.

Each run is a fresh Python process on a copy of the pipeline in a temporary folder, using the
embedded default store (``.skipwise`` in that folder). Between the warm run and the edited run,
``skipwise plan`` predicts what will rerun without running anything. Then the same steps as
Dagster assets reuse those results (see ``demo_dagster.py``), and the taxi DAG runs in Airflow
cold, warm and after the same edit (see ``demo_airflow.py``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import demo_airflow
import demo_dagster
from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
EDIT_FILE = "taxi/helpers.py"
EDIT_FROM = "evening = hour.between(EVENING_RUSH[0], EVENING_RUSH[1] - 1)"
EDIT_TO = "evening = hour.between(EVENING_RUSH[0], EVENING_RUSH[1])"
RUN = "import json, taxi.pipeline as p; print(json.dumps(p.run()))"

console = Console()


def run_pipeline(workdir: Path) -> list[dict]:
    result = subprocess.run(
        [sys.executable, "-c", RUN],
        cwd=workdir,
        env={**os.environ, "PYTHONPATH": str(workdir), "PYTHONHASHSEED": "random"},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def edit_helper(workdir: Path) -> None:
    path = workdir / EDIT_FILE
    text = path.read_text()
    if EDIT_FROM not in text:
        raise SystemExit(f"demo: cannot find the line to edit in {path}")
    path.write_text(text.replace(EDIT_FROM, EDIT_TO))


def show_plan(workdir: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "skipwise.cli", "plan", "taxi/pipeline.py"],
        cwd=workdir,
        env={**os.environ, "PYTHONPATH": str(workdir), "COLUMNS": "120"},
        check=True,
    )


def cell(step: dict) -> str:
    colour = "green" if step["status"] == "reused" else "yellow"
    seconds = f" {step['seconds']:.2f}s" if "seconds" in step else ""
    return f"[{colour}]{step['status']}[/]{seconds}"


def runs_table(title: str, kind: str, cold: list, warm: list, edited: list) -> Table:
    """One row per step (or task): what it did in each run, and why it ran after the edit."""
    table = Table(title=title)
    for column in (kind, "cold", "warm", "after edit", "why it ran"):
        table.add_column(column)
    for c, w, e in zip(cold, warm, edited, strict=True):
        why = e["reason"] if e["status"] == "computed" else ""
        table.add_row(c["step"], cell(c), cell(w), cell(e), why)
    return table


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="skipwise-demo-") as tmp:
        workdir = Path(tmp)
        shutil.copytree(
            HERE / "taxi", workdir / "taxi", ignore=shutil.ignore_patterns("__pycache__")
        )
        console.rule("1. cold run: everything computes")
        cold = run_pipeline(workdir)
        console.rule("2. warm run: everything is reused")
        warm = run_pipeline(workdir)
        console.rule(f"3. edit {EDIT_FILE}: is_rush_hour() now includes 19:00")
        edit_helper(workdir)
        show_plan(workdir)
        edited = run_pipeline(workdir)

        title = "skipwise demo: taxi pipeline (store: embedded default .skipwise/)"
        table = runs_table(title, "step", cold, warm, edited)
        totals = [sum(s["seconds"] for s in run) for run in (cold, warm, edited)]
        table.add_row("total", *(f"{t:.2f}s" for t in totals), "")
        console.print(table)
        reran = [e["step"] for e in edited if e["status"] == "computed"]
        console.print(f"after the edit, reran: {', '.join(reran)}")
        demo_dagster.run(workdir, console)

        runs = demo_airflow.run(workdir, console, edit_helper)
        table = runs_table("skipwise demo: the taxi DAG in Airflow (its own store)", "task", *runs)
        ran = [sum(task["status"] == "computed" for task in run) for run in runs]
        table.add_row("callables run", *(f"{n} of {len(runs[0])}" for n in ran), "")
        console.print(table)
        reran = [task["step"] for task in runs[-1] if task["status"] == "computed"]
        console.print(f"in Airflow, after the edit, reran: {', '.join(reran)}")


if __name__ == "__main__":
    main()
