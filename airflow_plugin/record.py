"""What the API server knows about a skipwise task without importing user code.

The operator builds a :class:`TaskRecord` when the DAG file is parsed and keeps it in a template
field, so it travels in the serialized DAG: the result name, the upstream tasks whose results
are arguments, the code graph, and its source texts (for the tab's diffs) when they fit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow.sdk.configuration import conf

from skipwise.host import CodeGraph

FIELD = "skipwise"  # the template field holding the record


def result_name(dag_id: str, task_id: str, name: str | None) -> str:
    """Where a task's results are listed in the store: ``name``, else ``<dag_id>.<task_id>``."""
    return name or f"{dag_id}.{task_id}"


@dataclass(frozen=True)
class TaskRecord:
    name: str | None  # as given to the operator; None: the default result name
    inputs: tuple[str, ...]  # upstream task ids whose results are arguments
    code: CodeGraph
    mapped: bool = False  # one result per map index (``.expand()``)

    def serialize(self) -> dict[str, Any]:
        """Called by Airflow's DAG serializer. Template fields longer than
        ``[core] max_templated_field_length`` are truncated: the source texts are left out
        first (the tab then shows no current source in its diffs), then the graph's nodes
        (only its digest travels: the tab still knows *whether* the code changed)."""
        data = {
            "name": self.name,
            "inputs": list(self.inputs),
            "code": self.code.to_dict(),
            "mapped": self.mapped,
            "sources": self.code.sources(),
        }
        limit = conf.getint("core", "max_templated_field_length")
        if len(str(data)) > limit:
            data["sources"] = {}
        if len(str(data)) > limit:
            data["code"] = {"root": self.code.root, "digest": self.code.digest, "nodes": None}
        return data

    @classmethod
    def from_serialized(cls, data: object) -> TaskRecord | None:
        """The record in a serialized DAG, or None if the task is not a skipwise task."""
        if not isinstance(data, Mapping) or "code" not in data:
            return None
        code = data["code"]
        graph = (
            CodeGraph.from_dict(code, data.get("sources"))
            if code.get("nodes") is not None
            else CodeGraph(code["root"], code["digest"], {})
        )
        inputs = tuple(data.get("inputs", ()))
        return cls(data.get("name"), inputs, graph, bool(data.get("mapped", False)))

    @property
    def complete(self) -> bool:
        """False when only the code digest travelled (see :meth:`serialize`)."""
        return bool(self.code.nodes)
