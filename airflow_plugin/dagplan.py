"""Plans for Airflow DAGs: which tasks the next run reuses or reruns, and why.

One plan, whether the DAG comes from its file (``skipwise plan dags/FILE.py``) or from the
serialized DAG (the UI tab, which never imports user code): core's ``make_plan`` over one
target per task. Reruns propagate along data inputs, not along mere ordering edges: a task
that does not receive an upstream result does not depend on it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from skipwise import SkipwiseError
from skipwise.airflow.record import FIELD, TaskRecord, result_name
from skipwise.host import (
    CodeGraph,
    GraphNode,
    Plan,
    PlanItem,
    Status,
    StatusGraph,
    Store,
    Target,
    make_plan,
)

PARTIAL_GRAPH = (
    "code changed (its code graph is larger than [core] max_templated_field_length, so the "
    "serialized DAG has only its digest: `skipwise plan` on the DAG file says which part)"
)

MAPPED = "[mapped]"  # after a mapped task's id in plans: one result per map index


@dataclass(frozen=True)
class DagTask:
    task_id: str
    upstream: tuple[str, ...]  # every upstream task in the DAG
    record: TaskRecord | None  # None: a task skipwise does not manage
    code: Callable[[], CodeGraph] | None = None  # live code (a DAG file); else the record's
    fresh: Callable[[], Mapping[str, str]] | None = None  # live code only: its fresh functions


@dataclass(frozen=True)
class DagPlan:
    dag_id: str
    tasks: list[DagTask]
    plan: Plan

    def item(self, task_id: str) -> PlanItem:
        task = next(t for t in self.tasks if t.task_id == task_id)
        return next(item for item in self.plan.items if item.name == _name(self.dag_id, task))

    def code(self, name: str) -> CodeGraph | None:
        """The code graph a task was planned with (live code, else the serialized record's,
        with the sources that travelled), by result name; None for no skipwise task."""
        for task in self.tasks:
            if task.record is not None and _name(self.dag_id, task) == name:
                return task.code() if task.code is not None else task.record.code
        return None

    def status_graph(self) -> StatusGraph:
        """Tasks coloured by status, with every DAG edge (as Airflow draws the DAG)."""
        graph = StatusGraph()
        for task in self.tasks:
            item = self.item(task.task_id)
            graph.nodes.append(GraphNode(task.task_id, task.task_id, item.status, item.cause))
            graph.edges += [(up, task.task_id) for up in task.upstream]
        return graph


def plan_dag(dag_id: str, tasks: Iterable[DagTask], store: Store) -> DagPlan:
    tasks = list(tasks)
    dag_plan = DagPlan(dag_id, tasks, make_plan(dag_targets(dag_id, tasks), store, dag_id))
    for task in tasks:
        if task.record and task.code is None and not task.record.complete:
            item = dag_plan.item(task.task_id)
            if item.status is Status.RERUN_CODE:
                item.cause, item.changes = PARTIAL_GRAPH, []
    return dag_plan


def dag_targets(dag_id: str, tasks: Iterable[DagTask]) -> list[Target]:
    tasks = list(tasks)
    names = {t.task_id: _name(dag_id, t) for t in tasks}
    targets = []
    for task in tasks:
        if task.record is None:
            upstream = tuple(names[u] for u in task.upstream if u in names)
            targets.append(Target(names[task.task_id], None, upstream, task.task_id))
            continue
        code = task.code or (lambda graph=task.record.code: graph)
        inputs = tuple(names[u] for u in task.record.inputs if u in names)
        label = f"{task.task_id} {MAPPED}" if task.record.mapped else task.task_id
        targets.append(Target(names[task.task_id], code, inputs, label, fresh=task.fresh))
    return targets


def _name(dag_id: str, task: DagTask) -> str:
    if task.record is None:
        return f"airflow:{dag_id}.{task.task_id}"  # never a result name (':' is not allowed)
    return result_name(dag_id, task.task_id, task.record.name)


def serialized_tasks(dag: Mapping[str, Any]) -> list[DagTask]:
    """The tasks of a serialized DAG (``SerializedDagModel.data["dag"]``)."""
    fields = [task["__var"] for task in dag["tasks"]]
    upstream: dict[str, list[str]] = {f["task_id"]: [] for f in fields}
    for f in fields:
        for down in f.get("downstream_task_ids", ()):
            upstream.setdefault(down, []).append(f["task_id"])
    return [
        DagTask(f["task_id"], tuple(sorted(upstream[f["task_id"]])), _serialized_record(f))
        for f in fields
    ]


def _serialized_record(fields: Mapping[str, Any]) -> TaskRecord | None:
    """An operator's record is a template field; a mapped task's is a partial argument
    (:mod:`skipwise.airflow.mapped`), encoded as Airflow encodes those."""
    if not fields.get("_is_mapped"):
        return TaskRecord.from_serialized(fields.get(FIELD))
    from airflow.serialization.serialized_objects import BaseSerialization

    encoded = fields.get("partial_kwargs", {}).get(FIELD)
    return TaskRecord.from_serialized(BaseSerialization.deserialize(encoded))


def live_tasks(dag: Any) -> list[DagTask]:
    """The tasks of a DAG object (a DAG file was imported)."""
    from airflow.sdk.definitions.mappedoperator import MappedOperator

    from skipwise.airflow.mapped import mapped_step
    from skipwise.airflow.operator import SkipwiseOperator

    tasks = []
    for task in dag.tasks:
        upstream = tuple(sorted(task.upstream_task_ids))
        if isinstance(task, SkipwiseOperator):
            step = task.step()
            tasks.append(
                DagTask(task.task_id, upstream, task.skipwise, step.code, step.fresh_facts)
            )
        elif isinstance(task, MappedOperator) and FIELD in task.partial_kwargs:
            record = TaskRecord.from_serialized(task.partial_kwargs[FIELD])
            step = mapped_step(task)
            tasks.append(DagTask(task.task_id, upstream, record, step.code, step.fresh_facts))
        else:
            tasks.append(DagTask(task.task_id, upstream, None))
    return tasks


def dag_targets_in(module: ModuleType) -> list[Target]:
    """Core plan's discoverer for DAG files: every task of the DAGs Airflow finds in the
    module's file (a DAG made by calling a ``@dag`` function is no module variable)."""
    from airflow.dag_processing.dagbag import DagBag

    path = getattr(module, "__file__", None)
    if path is None:
        return []
    bag = DagBag(dag_folder=path, collect_dags=False, load_op_links=False)
    dags = bag.process_file(path, only_if_updated=False, safe_mode=False)
    if bag.import_errors:
        raise SkipwiseError(f"Airflow cannot import {path}: {bag.import_errors}")
    targets = []
    for dag in sorted(dags, key=lambda d: d.dag_id):
        targets += dag_targets(dag.dag_id, live_tasks(dag))
    return targets
