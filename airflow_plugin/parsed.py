"""When the tab's DAG was last parsed, and which of its code files changed on disk since.

The tab plans from the serialized DAG, so an edit shows only after the DAG processor re-parses
the file. The API server often has the DAG bundle on its disk too (the same checkout); then the
files the tasks' code comes from (the DAG file, and each module its code graphs name, found
under the bundle's root as the DAG processor's ``sys.path`` has it) are compared with the parse
time. Without the files nothing is claimed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from skipwise.airflow.dagplan import DagTask


def parse_view(
    last_parsed: datetime | None,
    fileloc: str | None,
    relative_fileloc: str | None,
    tasks: Iterable[DagTask],
) -> dict[str, Any]:
    """``{"at": ISO time or None, "checked": whether the DAG file is on this disk,
    "newer": files (relative to the bundle) modified after the parse}``."""
    dag_file = Path(fileloc) if fileloc else None
    view: dict[str, Any] = {
        "at": last_parsed.isoformat() if last_parsed else None,
        "checked": dag_file is not None and dag_file.is_file(),
        "newer": [],
    }
    if not view["checked"] or last_parsed is None or dag_file is None:
        return view
    root = _bundle_root(dag_file, relative_fileloc)
    files = {dag_file} | {path for path in _module_files(root, tasks) if path.is_file()}
    parsed_at = last_parsed.timestamp()
    view["newer"] = sorted(_shown(path, root) for path in files if path.stat().st_mtime > parsed_at)
    return view


def _bundle_root(dag_file: Path, relative: str | None) -> Path:
    """The folder the DAG file's ``relative_fileloc`` is relative to (the DAGs folder)."""
    if relative and dag_file.as_posix().endswith("/" + relative.lstrip("/")):
        return Path(dag_file.as_posix()[: -len(relative.lstrip("/")) - 1])
    return dag_file.parent


def _module_files(root: Path, tasks: Iterable[DagTask]) -> set[Path]:
    """Where the modules named by the tasks' code nodes (``module:qualname`` keys) live under
    ``root``; external packages and read inputs are not the DAG's code."""
    modules = {
        key.partition(":")[0]
        for task in tasks
        if task.record is not None
        for key, node in task.record.code.nodes.items()
        if ":" in key and node.kind not in ("external", "file", "env")
    }
    found = set()
    for module in modules:
        base = root.joinpath(*module.split("."))
        found |= {base.with_suffix(".py"), base / "__init__.py"}
    return found


def _shown(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def parsed_text(at: str | None) -> str:
    """The parse time as the tab shows it (UTC, to the second)."""
    if at is None:
        return "never"
    return datetime.fromisoformat(at).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
