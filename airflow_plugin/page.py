"""The Signatures tab as one self-contained HTML page: inline SVG (core's renderer), CSS and a
few lines of script; nothing is fetched from elsewhere."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from skipwise.host import Status, StatusGraph, to_svg

_CSS = """
body { font: 13px Helvetica, Arial, sans-serif; margin: 16px; color: #202124; }
h1 { font-size: 18px; margin: 0 0 4px; } h2 { font-size: 15px; margin: 20px 0 6px; }
.meta { color: #5f6368; margin-bottom: 12px; }
table { border-collapse: collapse; margin-top: 6px; }
td, th { border: 1px solid #dadce0; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f8f9fa; } code { font-size: 12px; }
.status { display: inline-block; border-radius: 4px; padding: 0 6px; border: 1px solid; }
.graph svg { max-width: 100%; height: auto; } #graph g.node { cursor: pointer; }
tr.selected td { background: #e8f0fe; } .changed { color: #d93025; font-weight: bold; }
.warning { background: #fef7e0; border: 1px solid #e37400; padding: 6px 10px; }
"""

# Clicking a task (in the graph or the table) selects it: the page reloads with ?task=<id>.
_SCRIPT = """
for (const el of document.querySelectorAll("#graph g.node, tr[data-task]")) {
  el.addEventListener("click", () => {
    location.search = "?task=" + encodeURIComponent(el.dataset.task || el.dataset.id);
  });
}
"""


def render(view: Mapping[str, Any], graph: StatusGraph, task: Mapping[str, Any] | None) -> str:
    """``view`` is :func:`tab.dag_view`'s; ``task`` is :func:`tab.task_view`'s, if one is
    selected."""
    dag_id = view["dag_id"]
    counts = ", ".join(
        f"{n} {Status.of(s).style.legend}" for s, n in sorted(view["summary"].items())
    )
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>Signatures: {_e(dag_id)}</title><style>{_CSS}</style></head><body>",
        f"<h1 id='title'>Signatures: {_e(dag_id)}</h1>",
        f"<div class='meta'>next run: {_e(counts)} &middot; store <code>{_e(view['store'])}"
        f"</code> &middot; latest run <code>{_e(view['latest_run'] or 'none')}</code>"
        f" &middot; instance <code id='instance'>{_e(view['instance'])}</code></div>",
        f"<p class='warning' id='warning'>{_e(view['warning'])}</p>" if view["warning"] else "",
        f"<div class='graph' id='graph'>{to_svg(graph, title='next run')}</div>",
        _task_details(task) if task is not None else "",  # right under the graph clicked
        "<h2>Tasks</h2>",
        _task_table(view["tasks"], task["task_id"] if task else None),
        f"<script>{_SCRIPT}</script></body></html>",
    ]
    return "\n".join(parts)


def _task_table(tasks: list[Mapping[str, Any]], selected: str | None) -> str:
    """One row per task; a mapped task's row is followed by one row per map index of its
    latest run."""
    rows = []
    for t in tasks:
        chosen = " class='selected'" if t["task_id"] == selected else ""
        indexes = t["map_indexes"]
        latest = f"{len(indexes)} map indexes" if indexes is not None else _ran(t["last_run"])
        rows.append(_row(t, t["task_id"], latest, chosen))
        for index in indexes or ():
            label = f"{t['task_id']}[{index['map_index']}]"
            rows.append(_row(t, label, _ran(index["last_run"]), chosen, index["map_index"]))
    return (
        "<table id='tasks'><tr><th>task</th><th>next run</th><th>why</th>"
        "<th>latest run</th></tr>" + "".join(rows) + "</table>"
    )


def _row(
    task: Mapping[str, Any], label: str, latest: str, chosen: str, index: int | None = None
) -> str:
    mapped = "" if index is None else f" data-map-index='{index}'"
    return (
        f"<tr{chosen} data-task='{_e(task['task_id'])}'{mapped} "
        f"data-status='{_e(task['status'])}'><td><code>{_e(label)}</code></td>"
        f"<td>{_badge(task['status'])}</td><td>{_e(task['cause'])}</td><td>{_e(latest)}</td></tr>"
    )


def _ran(last: Mapping[str, Any] | None) -> str:
    return f"{last['status']}: {last['reason']}" if last else ""


def _task_details(task: Mapping[str, Any]) -> str:
    out = [f"<h2 id='task'>Task <code>{_e(task['task_id'])}</code></h2>"]
    if task["name"] is None:
        out.append("<p>Not managed by skipwise: it runs every time.</p>")
        return "\n".join(out)
    out.append(
        f"<p>Results stored as <code>{_e(task['name'])}</code>. Next run: "
        f"{_badge(task['status'])} {_e(task['cause'])}</p>"
    )
    if task["map_indexes"] is not None:
        out.append(_map_indexes(task["map_indexes"]))
    if task["changes"]:
        items = "".join(f"<li class='changed'>{_e(c['text'])}</li>" for c in task["changes"])
        out.append(f"<h2>What changed</h2><ul id='changes'>{items}</ul>")
    tree = task["tree"]
    if tree is None:
        out.append("<p>No stored result under this name yet.</p>")
        return "\n".join(out)
    out.append(
        f"<h2>Signature tree of the stored result</h2><p>signature "
        f"<code>{_e(tree['signature'])}</code></p>"
        f"<div class='graph' id='tree'>{task['picture']}</div>"
    )
    return "\n".join(out)


def _map_indexes(indexes: list[Mapping[str, Any]]) -> str:
    """A mapped task: one result per map index; the tree below is the latest stored one."""
    rows = "".join(
        f"<tr data-map-index='{i['map_index']}'><td>{i['map_index']}</td>"
        f"<td>{_e(_ran(i['last_run']))}</td>"
        f"<td><code>{_e((i['last_run'] or {}).get('signature') or '')}</code></td></tr>"
        for i in indexes
    )
    return (
        "<h2>Map indexes</h2><p>A mapped task: one result per map index, each signed with its "
        "own arguments. The tree below is the latest result stored.</p>"
        "<table id='map-indexes'><tr><th>map index</th><th>latest run</th><th>signature</th>"
        f"</tr>{rows}</table>"
    )


def _badge(text: str) -> str:
    """A status read back from the plan's JSON view, in its legend words and colours."""
    status = Status.of(text)
    style = status.style
    return (
        f"<span class='status' data-status='{_e(status)}' style='background:{style.fill};"
        f"border-color:{style.stroke}'>{_e(style.legend)}</span>"
    )


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)
