"""The demo's Dagster phase: the taxi assets (dags/taxi_dagster.py) on the store the plain
Python runs filled. Every asset is reused; after a second edit only its dependants recompute.

Each materialization is a fresh Python process with its own persistent DAGSTER_HOME in the
demo's folder, like a ``dagster dev`` run would be.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
EDIT_FILE = "taxi/helpers.py"
EDIT_FROM = "MORNING_RUSH = (7, 10)"
EDIT_TO = "MORNING_RUSH = (6, 10)"
MATERIALIZE = """
import json, dagster as dg, taxi_dagster as t
instance = dg.DagsterInstance.get()
assert dg.materialize(t.assets, instance=instance, resources=t.resources).success
report = []
for a in t.assets:
    m = instance.get_latest_materialization_event(a.key).asset_materialization.metadata
    report.append({k: m[f"skipwise/{k}"].value for k in ("status", "reason")})
    report[-1]["asset"] = a.key.to_user_string()
print(json.dumps(report))
"""


def materialize(workdir: Path) -> list[dict]:
    """Materialize every taxi asset; what each one did (reused or computed, and why)."""
    home = workdir / "dagster_home"
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    result = subprocess.run(
        [sys.executable, "-c", MATERIALIZE],
        cwd=workdir,
        env={**os.environ, "PYTHONPATH": str(workdir), "DAGSTER_HOME": str(home)},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def run(workdir: Path, console: Console) -> list[str]:
    """The phase, in a folder where the plain-Python pipeline ran; returns what recomputed."""
    shutil.copy(HERE / "taxi_dagster.py", workdir / "taxi_dagster.py")
    console.rule("4. Dagster assets on the same store: everything is reused")
    shared = materialize(workdir)
    console.rule(f"5. edit {EDIT_FILE}: the morning rush starts at 6:00; Dagster again")
    path = workdir / EDIT_FILE
    text = path.read_text()
    if EDIT_FROM not in text:
        raise SystemExit(f"demo: cannot find the line to edit in {path}")
    path.write_text(text.replace(EDIT_FROM, EDIT_TO))
    edited = materialize(workdir)

    table = Table(title="skipwise demo: taxi assets in Dagster (same store)")
    for column in ("asset", "first Dagster run", "after the second edit", "why it ran"):
        table.add_column(column)
    for first, second in zip(shared, edited, strict=True):
        why = second["reason"] if second["status"] == "computed" else ""
        table.add_row(first["asset"], _cell(first), _cell(second), why)
    console.print(table)
    reran = [step["asset"] for step in edited if step["status"] == "computed"]
    console.print(f"in Dagster, after the second edit, recomputed: {', '.join(reran)}")
    return reran


def _cell(step: dict) -> str:
    return f"[{'green' if step['status'] == 'reused' else 'yellow'}]{step['status']}[/]"
