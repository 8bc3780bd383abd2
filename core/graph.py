"""A small status graph and its pictures: DOT, Mermaid and self-contained SVG.

Shared by ``skipwise plan`` and the orchestrator UIs, so a task looks the same everywhere.
The SVG needs no Graphviz and no browser-side library: layers by longest path, left to right.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field

from skipwise.status import Status
from skipwise.tree import Change, SignatureTree


@dataclass(frozen=True)
class GraphNode:
    id: str
    label: str
    status: Status
    detail: str = ""


@dataclass
class StatusGraph:
    nodes: list[GraphNode] = field(default_factory=list)
    edges: list[tuple[str, str]] = field(default_factory=list)  # (from, to): data flows along

    def layers(self) -> list[list[GraphNode]]:
        ids = {n.id for n in self.nodes}
        parents: dict[str, list[str]] = {n.id: [] for n in self.nodes}
        for a, b in self.edges:
            if a in ids and b in ids and a != b:
                parents[b].append(a)
        depth: dict[str, int] = {}

        def depth_of(node_id: str, trail: frozenset[str] = frozenset()) -> int:
            if node_id not in depth:
                ups = [p for p in parents[node_id] if p not in trail]
                depth[node_id] = 1 + max((depth_of(p, trail | {node_id}) for p in ups), default=-1)
            return depth[node_id]

        grouped: dict[int, list[GraphNode]] = {}
        for node in self.nodes:
            grouped.setdefault(depth_of(node.id), []).append(node)
        return [grouped[d] for d in sorted(grouped)]


def to_dot(graph: StatusGraph, title: str = "skipwise") -> str:
    lines = [
        f"digraph {_quote(title)} {{",
        "  rankdir=LR;",
        '  node [shape=box, style="rounded,filled"];',
    ]
    for node in graph.nodes:
        style = node.status.style
        label = _quote(node.label, *([node.detail] if node.detail else []))
        lines.append(
            f"  {_quote(node.id)} [label={label}, fillcolor={_quote(style.fill)}, "
            f"color={_quote(style.stroke)}];"
        )
    lines += [f"  {_quote(a)} -> {_quote(b)};" for a, b in graph.edges]
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_mermaid(graph: StatusGraph) -> str:
    ids = {node.id: f"n{i}" for i, node in enumerate(graph.nodes)}
    lines = ["flowchart LR"]
    for node in graph.nodes:
        text = node.label + (f"<br/>{node.detail}" if node.detail else "")
        lines.append(f'  {ids[node.id]}["{_mermaid_text(text)}"]:::{node.status.replace("-", "_")}')
    lines += [f"  {ids[a]} --> {ids[b]}" for a, b in graph.edges if a in ids and b in ids]
    for status in dict.fromkeys(node.status for node in graph.nodes):
        style = status.style
        lines.append(
            f"  classDef {status.replace('-', '_')} fill:{style.fill},stroke:{style.stroke}"
        )
    return "\n".join(lines) + "\n"


_CHAR_W, _NODE_H, _GAP_X, _GAP_Y, _PAD = 7.2, 46, 70, 18, 16


def to_svg(graph: StatusGraph, title: str = "") -> str:
    layers = graph.layers()
    widths = [max((_node_width(n) for n in layer), default=0) for layer in layers]
    positions: dict[str, tuple[float, float, float]] = {}
    x = _PAD
    top = _PAD + (24 if title else 0)
    height = top
    for layer, width in zip(layers, widths, strict=True):
        y = top
        for node in layer:
            positions[node.id] = (x, y, width)
            y += _NODE_H + _GAP_Y
        height = max(height, y)
        x += width + _GAP_X
    legend_statuses = list(dict.fromkeys(n.status for n in graph.nodes))
    total_w = max(x - _GAP_X + _PAD, 320)
    total_h = height + 10 + 20 * len(legend_statuses) + _PAD
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_w:.0f}" height="{total_h:.0f}" '
        f'viewBox="0 0 {total_w:.0f} {total_h:.0f}" font-family="Helvetica,Arial,sans-serif" '
        'font-size="12">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#5f6368"/></marker></defs>',
        f'<rect class="bg" width="{total_w:.0f}" height="{total_h:.0f}" fill="#ffffff"/>',
    ]
    if title:
        out.append(
            f'<text x="{_PAD}" y="{_PAD + 12}" font-size="14" font-weight="bold">{_esc(title)}</text>'
        )
    for a, b in graph.edges:
        if a in positions and b in positions:
            ax, ay, aw = positions[a]
            bx, by, _ = positions[b]
            x1, y1, x2, y2 = ax + aw, ay + _NODE_H / 2, bx, by + _NODE_H / 2
            mid = (x1 + x2) / 2
            out.append(
                f'<path d="M{x1:.1f},{y1:.1f} C{mid:.1f},{y1:.1f} {mid:.1f},{y2:.1f} {x2:.1f},{y2:.1f}" '
                'class="edge" fill="none" stroke="#5f6368" stroke-width="1.3" '
                'marker-end="url(#arrow)"/>'
            )
    for node in graph.nodes:
        nx, ny, nw = positions[node.id]
        fill, stroke, legend = _style(node.status)
        out.append(
            f'<g class="node" data-id="{_esc(node.id)}" data-status="{_esc(node.status)}">'
            f"<title>{_esc(node.id)}: {_esc(legend)}{' - ' + _esc(node.detail) if node.detail else ''}</title>"
            f'<rect x="{nx:.1f}" y="{ny:.1f}" width="{nw:.1f}" height="{_NODE_H}" rx="8" '
            f'fill="{fill}" stroke="{stroke}" stroke-width="2"/>'
            f'<text x="{nx + 10:.1f}" y="{ny + 19:.1f}" font-weight="bold">{_esc(node.label)}</text>'
            f'<text class="detail" x="{nx + 10:.1f}" y="{ny + 35:.1f}" fill="#3c4043">'
            f"{_esc(_clip(node.detail))}</text>"
            "</g>"
        )
    y = height + 10
    for status in legend_statuses:
        fill, stroke, legend = _style(status)
        out.append(
            f'<rect x="{_PAD}" y="{y:.0f}" width="14" height="14" rx="3" fill="{fill}" stroke="{stroke}"/>'
            f'<text x="{_PAD + 20}" y="{y + 11:.0f}">{_esc(legend)}</text>'
        )
        y += 20
    out.append("</svg>")
    return "\n".join(out) + "\n"


_DETAIL_LIMIT = 48


def _style(status: Status) -> tuple[str, str, str]:
    style = status.style
    return style.fill, style.stroke, style.legend


def _clip(text: str) -> str:
    """The detail as it fits in a node (the full text is the node's tooltip): a long reason
    loses its "(via ...)" path first, then its end."""
    if len(text) <= _DETAIL_LIMIT:
        return text
    head = text.partition(" (via ")[0]
    if len(head) + 2 <= _DETAIL_LIMIT:
        return head + " …"
    return text[: _DETAIL_LIMIT - 1] + "…"


def _node_width(node: GraphNode) -> float:
    return 20 + _CHAR_W * max(len(node.label) * 1.1, len(_clip(node.detail)), 8)


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _quote(*lines: str) -> str:
    """A DOT string of these lines: each escaped, then joined by DOT's own line break."""
    escaped = (line.replace("\\", "\\\\").replace('"', '\\"') for line in lines)
    return '"' + "\\n".join(escaped) + '"'


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;")


_CHANGED_CODE = {"own-code", "code", "input"}


def tree_graph(tree: SignatureTree, changes: Sequence[Change], status: Status) -> StatusGraph:
    """One result's signature tree as a picture: the step, its code dependencies, arguments and
    upstream results. ``status`` colours the step; ``changes`` (from
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
            label, detail, state = key.removeprefix("external:"), "external", Status.UNMANAGED
        else:
            label, detail = key.rpartition(":")[2] or key, f"{key.partition(':')[0]} {node.kind}"
            state = Status.NEW if key in added else _state(key, changed)
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


def _state(node_id: str, changed: set[str]) -> Status:
    return Status.CHANGED if node_id in changed else Status.UNCHANGED
