"""``skipwise plan --select``: which tasks of a plan to show, the way dbt selects models.

A selector is a name, a label (task id, asset key) or a glob of either (``taxi.*``);
``+X`` adds everything upstream of X, ``X+`` everything downstream. Several selectors add up.
The plan is made whole first, so a selected task's status still counts its upstream.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from fnmatch import fnmatchcase

from skipwise.errors import SkipwiseError
from skipwise.plan import Plan


def select(plan: Plan, selectors: Sequence[str]) -> Plan:
    """The plan with only the selected items (all of them if there is no selector)."""
    if not selectors:
        return plan
    upstream = {item.name: item.upstream for item in plan.items}
    downstream: dict[str, list[str]] = {name: [] for name in upstream}
    for name, ups in upstream.items():
        for up in ups:
            downstream.setdefault(up, []).append(name)
    chosen: set[str] = set()
    for selector in selectors:
        pattern = selector.strip("+")
        matched = {
            item.name
            for item in plan.items
            if fnmatchcase(item.name, pattern) or fnmatchcase(item.label, pattern)
        }
        if not pattern or not matched:
            raise SkipwiseError(f"--select {selector!r} matches no task of {plan.target}")
        chosen |= matched
        if selector.startswith("+"):
            chosen |= _reach(matched, upstream)
        if selector.endswith("+"):
            chosen |= _reach(matched, downstream)
    return Plan(plan.target, plan.store, [item for item in plan.items if item.name in chosen])


def _reach(start: Iterable[str], edges: Mapping[str, Sequence[str]]) -> set[str]:
    """Everything reachable from ``start`` along ``edges`` (not ``start`` itself)."""
    seen: set[str] = set()
    todo = [n for name in start for n in edges.get(name, ())]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += edges.get(name, ())
    return seen
