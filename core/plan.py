"""``skipwise plan``: what will rerun and why, decided without calling any cached function.

The target module is imported (as an orchestrator parses a DAG file); its cached functions'
code graphs are compared with the trees stored under their names. Upstream edges come from the
host (DAG dependencies) and from stored lineage; a rerun propagates downstream.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from skipwise.cached import Cached
from skipwise.codegraph import CodeGraph
from skipwise.engine import latest_tree, signing_pass
from skipwise.graph import GraphNode, StatusGraph
from skipwise.status import Reason, Status
from skipwise.store import Store
from skipwise.tree import Change, code_changes


@dataclass(frozen=True)
class Target:
    """Something a host will run under skipwise: a cached function, an Airflow task..."""

    name: str
    code: Callable[[], CodeGraph] | None  # None: the host runs it without skipwise
    upstream: tuple[str, ...] = ()  # names of upstream targets the host knows about
    label: str = ""  # how the host calls it (task id, asset key); the name if empty


@dataclass
class PlanItem:
    name: str
    label: str
    status: Status  # REUSE, RERUN_CODE, RERUN_UPSTREAM, NEW or UNMANAGED
    cause: str
    upstream: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    code_digest: str = ""
    stored_signature: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "status": self.status,
            "cause": self.cause,
            "upstream": self.upstream,
            "changes": [
                {"kind": c.kind, "subject": c.subject, "path": list(c.path)} for c in self.changes
            ],
            "code_digest": self.code_digest,
            "stored_signature": self.stored_signature,
        }


@dataclass
class Plan:
    target: str
    store: str
    items: list[PlanItem]

    def to_dict(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for item in self.items:
            counts[item.status] = counts.get(item.status, 0) + 1
        return {
            "target": self.target,
            "store": self.store,
            "summary": counts,
            "items": [i.to_dict() for i in self.items],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    def status_graph(self) -> StatusGraph:
        graph = StatusGraph()
        for item in self.items:
            graph.nodes.append(
                GraphNode(item.name, item.label or item.name, item.status, item.cause)
            )
            graph.edges += [(up, item.name) for up in item.upstream]
        return graph


# Ways to find targets in a module: cached functions here; hosts add theirs (DAG tasks).
Discoverer = Callable[[ModuleType], list[Target]]
_discoverers: list[Discoverer] = []


def register_discoverer(discoverer: Discoverer) -> Discoverer:
    """Let ``skipwise plan`` find a host's targets in a module (idempotent; usable as a
    decorator). A host registers when its module is imported, so a DAG file that imports the
    host is planned with its tasks."""
    if discoverer not in _discoverers:
        _discoverers.append(discoverer)
    return discoverer


@register_discoverer
def _cached_functions(module: ModuleType) -> list[Target]:
    found: dict[str, Target] = {}
    for value in vars(module).values():
        if isinstance(value, Cached) and value.name not in found:
            found[value.name] = Target(value.name, value.code)
    return list(found.values())


def load_module(target: str) -> ModuleType:
    """Import a module by dotted name or by file path (its folder goes on ``sys.path``)."""
    path = Path(target)
    if path.suffix == ".py" or path.exists():
        if not path.exists():
            raise FileNotFoundError(f"no such file: {target}")
        path = path.resolve()
        if path.is_dir():
            path = path / "__init__.py"
        parts = [path.stem] if path.name != "__init__.py" else []
        folder = path.parent
        while (folder / "__init__.py").exists():
            parts.insert(0, folder.name)
            folder = folder.parent
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
        return importlib.import_module(".".join(parts))
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    return importlib.import_module(target)


def discover(module: ModuleType) -> list[Target]:
    found: dict[str, Target] = {}
    for discoverer in _discoverers:
        for target in discoverer(module):
            found.setdefault(target.name, target)
    return list(found.values())


def make_plan(
    targets: Iterable[Target],
    store: Store,
    title: str,
    progress: Callable[[str], None] | None = None,
) -> Plan:
    with signing_pass():
        return _make_plan(list(targets), store, title, progress)


def _make_plan(
    targets: list[Target], store: Store, title: str, progress: Callable[[str], None] | None
) -> Plan:
    items: dict[str, PlanItem] = {}
    upstream_signatures: dict[str, set[str]] = {}
    for target in targets:
        if progress:
            progress(target.name)
        item = PlanItem(target.name, target.label or target.name, Status.REUSE, Reason.UNCHANGED)
        item.upstream = list(target.upstream)
        items[target.name] = item
        if target.code is None:
            item.status, item.cause = Status.UNMANAGED, Reason.UNMANAGED
            continue
        graph = target.code()
        stored = latest_tree(store, target.name)
        item.code_digest = graph.digest
        if stored is None:
            item.status, item.cause = Status.NEW, Reason.NEW
        else:
            item.stored_signature = stored.signature
            upstream_signatures[target.name] = stored.upstream()
            item.changes = code_changes(stored.code, graph)
            if item.changes:
                item.status, item.cause = Status.RERUN_CODE, item.changes[0].describe()
    _add_lineage_edges(items, upstream_signatures, store)
    _propagate(items)
    return Plan(title, store.url, list(items.values()))


def _add_lineage_edges(
    items: dict[str, PlanItem], upstream_signatures: dict[str, set[str]], store: Store
) -> None:
    """Stored results name the results they were computed from; those are upstream edges."""
    wanted = {sig for sigs in upstream_signatures.values() for sig in sigs}
    names: dict[str, str] = {}
    for sig in store.exists_many(wanted):
        manifest = store.manifest(sig)
        if manifest is not None:
            names[sig] = manifest.name
    for name, sigs in upstream_signatures.items():
        for sig in sorted(sigs):
            upstream = names.get(sig)
            if upstream in items and upstream not in items[name].upstream and upstream != name:
                items[name].upstream.append(upstream)


def _propagate(items: dict[str, PlanItem]) -> None:
    """A task whose upstream reruns reruns too."""
    settled: set[str] = set()

    def settle(name: str, trail: frozenset[str]) -> None:
        if name in settled:
            return
        item = items[name]
        for upstream in item.upstream:
            if upstream in items and upstream not in trail:
                settle(upstream, trail | {name})
        if item.status is Status.REUSE:
            changed = [u for u in item.upstream if u in items and items[u].status.runs]
            if changed:
                item.status = Status.RERUN_UPSTREAM
                item.cause = Reason.upstream_reruns(changed[0])
        settled.add(name)

    for name in items:
        settle(name, frozenset())
