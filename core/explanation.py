"""Why a planned task reruns, with the source diff of each change: one answer for every face.

``skipwise explain``, the Airflow Signatures tab and the Dagster report all build an
:class:`Explanation` here and only render it (:func:`diff_html`, :func:`diff_markdown`,
:meth:`Explanation.graph`), so the words, the diffs and the picture never disagree.
"""

from __future__ import annotations

import difflib
import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from skipwise.codegraph import CodeGraph
from skipwise.engine import latest_tree
from skipwise.graph import GraphNode, StatusGraph, tree_graph
from skipwise.plan import Plan, PlanItem
from skipwise.status import Status
from skipwise.store import Store
from skipwise.tree import Change, SignatureTree


@dataclass(frozen=True)
class SourceDiff:
    """One change with the source on each side: ``""`` where the node is absent (added or
    removed), ``None`` where its text is unknown (not kept, or not available to this host)."""

    change: Change
    before: str | None
    after: str | None

    @property
    def text(self) -> str:
        return self.change.describe()

    def unified(self) -> str:
        """A unified diff, line by line (a source without a final newline stays one line);
        empty when either side is unknown or nothing differs in the text."""
        if self.before is None or self.after is None:
            return ""
        lines = difflib.unified_diff(
            self.before.splitlines(),
            self.after.splitlines(),
            fromfile=f"{self.change.subject} (stored)",
            tofile=f"{self.change.subject} (now)",
            lineterm="",
        )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.change.kind,
            "subject": self.change.subject,
            "path": list(self.change.path),
            "text": self.text,
            "before": self.before,
            "after": self.after,
            "diff": self.unified(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SourceDiff:
        """Read back :meth:`to_dict` (a host's JSON view), to render it."""
        change = Change(data["kind"], data["subject"], tuple(data["path"]))
        return cls(change, data["before"], data["after"])


@dataclass(frozen=True)
class Explanation:
    """What ``item``'s next run does and why. ``origin`` is the task whose own change makes it
    rerun (``item`` itself, or an upstream that reruns for a reason of its own); ``diffs`` are
    the origin's changes; ``stored`` is ``item``'s latest stored tree; ``upstream`` maps each
    argument that carried an upstream result to the plan item of the task that made it."""

    item: PlanItem
    origin: PlanItem
    stored: SignatureTree | None
    diffs: tuple[SourceDiff, ...]
    upstream: Mapping[str, PlanItem]

    def graph(self) -> StatusGraph:
        """The stored tree as a picture, coloured as the plan says: changed code in red, and
        an argument whose upstream reruns in that upstream's status (never "unchanged" while
        the DAG picture says it reruns)."""
        if self.stored is None:
            return StatusGraph()
        graph = tree_graph(self.stored, self.item.changes, self.item.status)
        for i, node in enumerate(graph.nodes):
            up = self.upstream.get(node.id.removeprefix("arg:"))
            if node.id.startswith("arg:") and up is not None and up.status.runs:
                graph.nodes[i] = GraphNode(node.id, node.label, up.status, up.cause)
        return graph

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.item.name,
            "status": self.item.status,
            "cause": self.item.cause,
            "origin": {"name": self.origin.name, "label": self.origin.label}
            if self.origin is not self.item
            else None,
            "origin_cause": self.origin.cause,
            "diffs": [d.to_dict() for d in self.diffs],
            "upstream": {arg: up.name for arg, up in sorted(self.upstream.items())},
        }


def explain(
    plan: Plan,
    item: PlanItem,
    store: Store,
    current: Callable[[str], CodeGraph | None],
) -> Explanation:
    """``current(name)`` is a target's code graph now (live code, or what a host serialized),
    or None if unknown; only the origin's is asked for, and only when it changed."""
    origin = origin_of(plan, item)
    stored = latest_tree(store, item.name) if item.status is not Status.UNMANAGED else None
    previous = stored if origin is item else latest_tree(store, origin.name)
    diffs: tuple[SourceDiff, ...] = ()
    if origin.changes and previous is not None:
        diffs = source_diffs(origin.changes, previous.code, current(origin.name))
    return Explanation(item, origin, stored, diffs, _upstream(plan, stored, store))


def origin_of(plan: Plan, item: PlanItem) -> PlanItem:
    """The task whose own change makes ``item`` rerun: itself, or the first upstream that
    reruns, followed up to a task that reruns for a reason of its own."""
    seen = {item.name}
    while item.status is Status.RERUN_UPSTREAM:
        ups = (plan.item(name) for name in item.upstream if name not in seen)
        running = next((up for up in ups if up is not None and up.status.runs), None)
        if running is None:
            break
        item = running
        seen.add(item.name)
    return item


def source_diffs(
    changes: Sequence[Change], before: CodeGraph, after: CodeGraph | None
) -> tuple[SourceDiff, ...]:
    """Each change with its source in the ``before`` and ``after`` code graphs: for a plan,
    the stored tree and the code now; for a step that just ran, the result it replaced and
    the one it stored."""
    return tuple(_source_diff(change, before, after) for change in changes)


# Changes of values, not of code nodes: nothing to diff.
_VALUE_CHANGES = frozenset({"argument", "upstream", "version", "extra"})


def _source_diff(change: Change, before: CodeGraph, after: CodeGraph | None) -> SourceDiff:
    if change.kind in _VALUE_CHANGES:
        return SourceDiff(change, None, None)

    def text(graph: CodeGraph | None, present: bool) -> str | None:
        if not present:
            return ""
        if graph is None or change.subject not in graph.nodes:
            return None
        return graph.source(change.subject) or None

    return SourceDiff(
        change, text(before, change.old is not None), text(after, change.new is not None)
    )


def _upstream(plan: Plan, stored: SignatureTree | None, store: Store) -> dict[str, PlanItem]:
    """Each argument of the stored tree that carried upstream results, by the plan item of
    the result's name (read from its manifest, as plan's lineage edges are)."""
    found: dict[str, PlanItem] = {}
    for arg, record in stored.arguments.items() if stored else ():
        for signature in record.upstream:
            manifest = store.manifest(signature)
            up = plan.item(manifest.name) if manifest is not None else None
            if up is not None:
                found[arg] = up
                break
    return found


# Renderers. Pygments comes with rich, a dependency of core.


def diff_html(diff: SourceDiff, *, open: bool = False) -> str:
    """One change as a collapsible ``<details>``: the sentence as its summary, the
    syntax-highlighted unified diff inside (classes from :func:`diff_css`); a change whose
    sources are unknown says why there is no diff."""
    body = diff.unified()
    if body:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import DiffLexer

        inner = highlight(body, DiffLexer(), HtmlFormatter(cssclass="diff"))
    else:
        inner = f"<p class='no-diff'>{html.escape(_no_diff(diff))}</p>"
    return (
        f"<details class='change' data-subject='{html.escape(diff.change.subject, quote=True)}'"
        f"{' open' if open else ''}><summary>{html.escape(diff.text)}</summary>{inner}</details>"
    )


def source_html(text: str) -> str:
    """Python source, syntax-highlighted with the classes of :func:`diff_css`."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    return highlight(text, PythonLexer(), HtmlFormatter(cssclass="diff"))


def diff_css(dark: bool = False, scope: str = ".diff") -> str:
    """The classes :func:`diff_html` and :func:`source_html` use, in a light or a dark
    palette, under ``scope`` (e.g. ``.dark .diff`` for a page that switches)."""
    from pygments.formatters import HtmlFormatter

    return HtmlFormatter(style="github-dark" if dark else "default").get_style_defs(scope)


def diff_markdown(diff: SourceDiff) -> str:
    """One change in Markdown: the sentence, then the diff in a fenced ``diff`` block."""
    body = diff.unified()
    if not body:
        return f"- {diff.text} ({_no_diff(diff)})\n"
    return f"- {diff.text}\n\n```diff\n{body}\n```\n"


def _no_diff(diff: SourceDiff) -> str:
    if diff.change.kind in _VALUE_CHANGES:
        return "a value, not code: nothing to diff"
    if diff.change.kind == "input":
        return "a file or variable the code reads: its content is hashed, not shown"
    if diff.before is None or diff.after is None:
        side = "stored" if diff.before is None else "current"
        return f"the {side} source is not available here"
    return "same text: what it refers to changed"
