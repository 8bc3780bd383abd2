"""What the Signatures tab shows, as plain data: the DAG's plan, and one task's signature tree
with what changed and its source diffs (core's explanation, the same as ``skipwise explain``).
The JSON routes return it; :mod:`skipwise.airflow.page` draws it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from skipwise.airflow.dagplan import DagPlan
from skipwise.host import Change, Status, Store, explain, to_svg

# Each task's latest run, from its XCom references ({"status", "reason", "signature", ...}) by
# map index: -1 for a task that is not mapped.
Runs = Mapping[str, Mapping[int, Mapping[str, Any]]]


def dag_view(
    dag_plan: DagPlan,
    store: Store,
    run_id: str | None,
    runs: Runs,
    parsed: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """``warning`` says when the latest run used another store than the one read here: then
    every status would be wrong (the API server needs the workers' store settings).
    ``parsed`` is :func:`skipwise.airflow.parsed.parse_view`'s: when the plan's DAG was parsed,
    and which code files changed on disk since."""
    used = {str(r.get("store")) for by_index in runs.values() for r in by_index.values()}
    elsewhere = sorted(used - {store.url})
    # The instance of the latest run, else the one planned ("" is the unnamed instance).
    ran_in = {r.get("instance", "") for by_index in runs.values() for r in by_index.values()}
    instances = sorted(ran_in) if runs else [dag_plan.plan.instance]
    return {
        "dag_id": dag_plan.dag_id,
        "store": store.url,
        "instance": ", ".join(name or "(unnamed)" for name in instances),
        "summary": dag_plan.plan.to_dict()["summary"],
        "latest_run": run_id,
        "parsed": dict(parsed) if parsed is not None else None,
        "tasks": [_task(dag_plan, t.task_id, runs) for t in dag_plan.tasks],
        "warning": f"the latest run stored its results in {', '.join(elsewhere)}, but this "
        f"API server reads {store.url}: give it the workers' store settings (the skipwise "
        "connection, [skipwise] store or SKIPWISE_STORE)"
        if elsewhere
        else None,
    }


def task_view(dag_plan: DagPlan, task_id: str, store: Store, runs: Runs) -> dict[str, Any]:
    """The task, with the changes since its stored result, core's explanation of them (the
    task whose change causes a rerun, and each change's source on both sides with the diff)
    and that result's signature tree: as data (code nodes marked changed or not, with their
    stored source) and as a picture coloured as the plan says."""
    view = _task(dag_plan, task_id, runs)
    item = dag_plan.item(task_id)
    view["changes"] = [_change(c) for c in item.changes]
    view["tree"] = view["picture"] = view["explanation"] = None
    view["sources"] = {}
    if item.status is Status.UNMANAGED:
        return view
    found = explain(dag_plan.plan, item, store, dag_plan.code)
    view["explanation"] = found.to_dict()
    if found.origin is not item:
        origin = (t.task_id for t in dag_plan.tasks if dag_plan.item(t.task_id) is found.origin)
        view["explanation"]["origin"]["task_id"] = next(origin, None)
    stored = found.stored
    if stored is None:
        return view
    changed = {c.subject for c in item.changes}
    tree = stored.to_dict()
    tree.pop("sources")
    for key, node in tree["code"]["nodes"].items():
        node["changed"] = key in changed
    view["tree"] = tree
    view["sources"] = {key: text for key in stored.code.nodes if (text := stored.code.source(key))}
    view["picture"] = to_svg(found.graph(), title=item.name)
    return view


def _task(dag_plan: DagPlan, task_id: str, runs: Runs) -> dict[str, Any]:
    """``map_indexes``: a mapped task's latest run, per map index (None for a task that is
    not mapped)."""
    item = dag_plan.item(task_id)
    task = next(t for t in dag_plan.tasks if t.task_id == task_id)
    latest = runs.get(task_id, {})
    mapped = task.record is not None and task.record.mapped
    return {
        "task_id": task_id,
        "name": item.name if item.status is not Status.UNMANAGED else None,
        "status": item.status,
        "cause": item.cause,
        "upstream": task.upstream,
        "last_run": None if mapped else _run(latest.get(-1)),
        "map_indexes": [{"map_index": i, "last_run": _run(r)} for i, r in sorted(latest.items())]
        if mapped
        else None,
    }


def _run(reference: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if reference is None:
        return None
    return {k: reference.get(k) for k in ("status", "reason", "signature", "store", "instance")}


def _change(change: Change) -> dict[str, Any]:
    return {
        "kind": change.kind,
        "subject": change.subject,
        "path": list(change.path),
        "text": change.describe(),
    }
