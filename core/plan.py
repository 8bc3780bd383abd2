"""``skipwise plan``: what will rerun and why, decided without calling any cached function.

The target module is imported (as an orchestrator parses a DAG file; see
:mod:`skipwise.importing`). A cached function called while it is imported is planned by the
signature of that call (:mod:`skipwise.recording`); any other target by its code graph,
compared with the tree stored under its name. Upstream edges come from the host (DAG
dependencies), from recorded calls and from stored lineage; a rerun propagates downstream.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import ModuleType
from typing import Any

from skipwise import config
from skipwise.cached import Cached
from skipwise.codegraph import CodeGraph
from skipwise.engine import latest_tree, signing_pass
from skipwise.graph import GraphNode, StatusGraph
from skipwise.recording import Recording
from skipwise.status import Reason, Status
from skipwise.step import Decision
from skipwise.store import Store
from skipwise.tree import Change, code_changes, fresh_changes


@dataclass(frozen=True)
class Target:
    """Something a host will run under skipwise: a cached function, an Airflow task..."""

    name: str
    code: Callable[[], CodeGraph] | None  # None: the host runs it without skipwise
    upstream: tuple[str, ...] = ()  # names of upstream targets the host knows about
    label: str = ""  # how the host calls it (task id, asset key); the name if empty
    calls: tuple[Decision, ...] = ()  # calls recorded while the module was imported
    # What its fresh functions say now (``Step.fresh_facts``): they run when it is planned.
    # None: the host cannot run them (a serialized DAG); fresh inputs are then not compared.
    fresh: Callable[[], Mapping[str, str]] | None = None


@dataclass
class PlanItem:
    name: str
    label: str
    status: Status  # REUSE, RERUN_* (why it reruns), NEW or UNMANAGED
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
    instance: str = ""  # the instance planned ("": the unnamed one)

    def to_dict(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for item in self.items:
            counts[item.status] = counts.get(item.status, 0) + 1
        return {
            "target": self.target,
            "store": self.store,
            "instance": self.instance,
            "summary": counts,
            "items": [i.to_dict() for i in self.items],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    def item(self, name: str) -> PlanItem | None:
        """The item named ``name``, or labelled so (the task id or asset key plan prints)."""
        return next((i for i in self.items if name in (i.name, i.label)), None)

    def status_graph(self) -> StatusGraph:
        """Items coloured by status, with the edges between them (not to items left out)."""
        graph = StatusGraph()
        names = {item.name for item in self.items}
        for item in self.items:
            graph.nodes.append(
                GraphNode(item.name, item.label or item.name, item.status, item.cause)
            )
            graph.edges += [(up, item.name) for up in item.upstream if up in names]
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
            found[value.name] = Target(value.name, value.code, fresh=value.step.fresh_facts)
    return list(found.values())


def discover(module: ModuleType, recorded: Recording | None = None) -> list[Target]:
    """What every registered discoverer finds in ``module``, by name; with ``recorded``, the
    calls recorded while it was imported join their targets (or become targets of their own:
    a cached function called but not kept in a module variable)."""
    found: dict[str, Target] = {}
    for discoverer in _discoverers:
        for target in discoverer(module):
            found.setdefault(target.name, target)
    for name, calls in (recorded.by_name() if recorded else {}).items():
        known = found.get(name) or Target(name, lambda graph=calls[0].tree.code: graph)
        found[name] = replace(known, calls=calls)
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
        elif target.calls:
            upstream_signatures[target.name] = _plan_calls(item, target.calls, store)
        else:
            fresh = target.fresh() if target.fresh else None
            upstream_signatures[target.name] = _plan_code(item, target.code(), fresh, store)
    recorded = {d.tree.signature: t.name for t in targets for d in t.calls}
    _add_lineage_edges(items, upstream_signatures, recorded, store)
    _propagate(items)
    return Plan(title, store.url, list(items.values()), config.instance_name())


def _plan_code(
    item: PlanItem, graph: CodeGraph, fresh: Mapping[str, str] | None, store: Store
) -> set[str]:
    """A target nobody called: its code graph and what its fresh functions say now (if
    known) against its latest stored tree. Returns the signatures of that tree's upstream
    results."""
    stored = latest_tree(store, item.name)
    item.code_digest = graph.digest
    if stored is None:
        item.status, item.cause = Status.NEW, Reason.NEW
        return set()
    item.stored_signature = stored.signature
    item.changes = code_changes(stored.code, graph)
    if fresh is not None:
        item.changes += fresh_changes(stored.extra, fresh)
    if item.changes:
        only_inputs = all(change.kind in _INPUT_CHANGES for change in item.changes)
        item.status = Status.RERUN_INPUT if only_inputs else Status.RERUN_CODE
        item.cause = item.changes[0].describe()
    return stored.upstream()


# Changes that mean the function itself changed; other misses are new inputs.
_CODE_CHANGES = {"own-code", "code", "added", "removed", "version"}
_INPUT_CHANGES = {"argument", "extra", "input", "fresh"}


def _plan_calls(item: PlanItem, calls: tuple[Decision, ...], store: Store) -> set[str]:
    """A target called while its module was imported: by each call's real signature. Returns
    the signatures of the calls' upstream results."""
    pointer = store.pointer(item.name, config.instance_name())
    item.stored_signature = pointer.signature if pointer else None
    item.code_digest = calls[0].tree.code.digest
    missed = next((d for d in calls if not d.hit), None)
    if missed is not None:
        kinds = {change.kind for change in missed.changes}
        if kinds & _CODE_CHANGES:
            item.status = Status.RERUN_CODE
        elif "upstream" in kinds:
            item.status = Status.RERUN_UPSTREAM
        elif kinds & _INPUT_CHANGES:
            item.status = Status.RERUN_INPUT
        elif missed.reason == Reason.FORCED:
            item.status = Status.RERUN_FORCED
        else:  # no earlier result under this name
            item.status = Status.NEW
        item.cause, item.changes = missed.reason, list(missed.changes)
    return {sig for d in calls for sig in d.tree.upstream()}


def _add_lineage_edges(
    items: dict[str, PlanItem],
    upstream_signatures: dict[str, set[str]],
    recorded: dict[str, str],
    store: Store,
) -> None:
    """Recorded calls and stored results name the results they take; those are upstream
    edges. ``recorded`` maps the signature of each recorded call to its target's name."""
    wanted = {sig for sigs in upstream_signatures.values() for sig in sigs} - recorded.keys()
    names = dict(recorded)
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
    """A task whose upstream reruns reruns too, and says which upstream."""
    settled: set[str] = set()

    def settle(name: str, trail: frozenset[str]) -> None:
        if name in settled:
            return
        item = items[name]
        for upstream in item.upstream:
            if upstream in items and upstream not in trail:
                settle(upstream, trail | {name})
        if item.status in (Status.REUSE, Status.RERUN_UPSTREAM):
            changed = [u for u in item.upstream if u in items and items[u].status.runs]
            if changed:
                item.status = Status.RERUN_UPSTREAM
                item.cause = Reason.upstream_reruns(changed[0])
        settled.add(name)

    for name in items:
        settle(name, frozenset())
