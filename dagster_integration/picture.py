"""A signature tree as a picture: the step, its code dependencies, its arguments and upstream
results, with what changed since the previous result highlighted (core's SVG renderer)."""

from __future__ import annotations

import base64
from collections.abc import Sequence

from skipwise.graph import GraphNode, StatusGraph, to_svg
from skipwise.tree import Change, SignatureTree

_CHANGED_CODE = {"own-code", "code"}


def signature_graph(tree: SignatureTree, changes: Sequence[Change], status: str) -> StatusGraph:
    """``status`` colours the step itself (a ``graph.STATUS_STYLE`` key); ``changes`` (from
    ``tree.diff``) colour the parts that differ from the previous result."""
    changed = {c.subject for c in changes if c.kind in _CHANGED_CODE or c.kind == "extra"}
    changed |= {f"arg:{c.subject}" for c in changes if c.kind in ("argument", "upstream")}
    added = {c.subject for c in changes if c.kind == "added"}
    root = tree.code.root
    graph = StatusGraph()
    for key, node in sorted(tree.code.nodes.items()):
        if key == root:
            label, detail, state = (
                key.rpartition(":")[2],
                f"signature {tree.signature[:12]}",
                status,
            )
        elif node.kind == "external":
            label, detail, state = key.removeprefix("external:"), "external", "unmanaged"
        else:
            label, detail = key.rpartition(":")[2] or key, f"{key.partition(':')[0]} {node.kind}"
            state = "new" if key in added else "changed" if key in changed else "unchanged"
        graph.nodes.append(GraphNode(key, label, state, detail))
        graph.edges += [(target, key) for target in sorted(set(node.refs.values()))]
    for param, record in sorted(tree.arguments.items()):
        detail = (
            "upstream " + ", ".join(sig[:12] for sig in record.upstream)
            if record.upstream
            else f"argument {record.digest[:12]}"
        )
        node_id = f"arg:{param}"
        graph.nodes.append(GraphNode(node_id, param, _state(node_id, changed), detail))
        graph.edges.append((node_id, root))
    for key, value in sorted(tree.extra.items()):
        graph.nodes.append(GraphNode(key, key, _state(key, changed), value))
        graph.edges.append((key, root))
    return graph


def _state(node_id: str, changed: set[str]) -> str:
    return "changed" if node_id in changed else "unchanged"


def svg_data_uri(graph: StatusGraph, title: str = "") -> str:
    """The picture as a ``data:`` URI: Dagster's Markdown renders it (no Mermaid, no HTML)."""
    svg = to_svg(graph, title=title).encode()
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode()
