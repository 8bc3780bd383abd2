"""The Signatures tab as one self-contained HTML page: inline SVG and diffs (core's renderers),
CSS and a few lines of script; nothing is fetched from elsewhere.

The tab is an iframe of Airflow's UI with ``allow-same-origin``: the page follows the UI's
theme, which Airflow 3.3 (next-themes) keeps as the class ``dark``/``light`` of the UI's
``<html>`` and as ``localStorage["theme"]``; opened on its own, it follows ``?theme=dark`` or
the browser's ``prefers-color-scheme``.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from skipwise.airflow.parsed import parsed_text
from skipwise.host import (
    SourceDiff,
    Status,
    StatusGraph,
    diff_css,
    diff_html,
    source_html,
    to_svg,
)

_CSS = """
:root { --bg: #ffffff; --fg: #202124; --muted: #5f6368; --line: #dadce0; --head: #f8f9fa;
  --selected: #e8f0fe; --accent: #1a73e8; --warn-bg: #fef7e0; --warn: #e37400;
  --changed: #d93025; color-scheme: light; }
:root.dark { --bg: #18181b; --fg: #e8eaed; --muted: #9aa0a6; --line: #3f3f46; --head: #27272a;
  --selected: #1e3a5f; --accent: #8ab4f8; --warn-bg: #3b2f12; --warn: #fbbc04;
  --changed: #f28b82; color-scheme: dark; }
body { font: 13px Helvetica, Arial, sans-serif; margin: 16px; color: var(--fg);
  background: var(--bg); }
h1 { font-size: 18px; margin: 0 0 4px; } h2 { font-size: 15px; margin: 20px 0 6px; }
.meta { color: var(--muted); margin-bottom: 12px; }
table { border-collapse: collapse; margin-top: 6px; }
td, th { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: var(--head); } code { font-size: 12px; }
.status { display: inline-block; border-radius: 4px; padding: 0 6px; border: 1px solid; }
.dark .status { background: transparent !important; }
.graph svg { max-width: 100%; height: auto; } g.node { cursor: pointer; }
tr.selected td { background: var(--selected); } .changed { color: var(--changed); }
.warning { background: var(--warn-bg); border: 1px solid var(--warn); padding: 6px 10px; }
#graph g.node.selected rect, #tree g.node.selected rect { stroke: var(--accent);
  stroke-width: 4; }
.dark svg rect.bg { fill: var(--bg); } .dark svg text { fill: var(--fg); }
.dark svg text.detail { fill: var(--muted); } .dark svg path.edge { stroke: var(--muted); }
.dark svg marker path { fill: var(--muted); } .dark svg rect:not(.bg) { fill-opacity: 0.2; }
details.change { border: 1px solid var(--line); border-radius: 6px; margin: 6px 0;
  max-width: 1100px; }
details.change > summary { cursor: pointer; padding: 6px 10px; color: var(--changed);
  font-weight: bold; }
details.change .diff, #source .diff { margin: 0; overflow-x: auto; }
.diff pre { margin: 0; padding: 8px 10px; font-size: 12px; }
.no-diff { margin: 0; padding: 6px 10px; color: var(--muted); }
#source { border: 1px solid var(--line); border-radius: 6px; max-width: 1100px; }
#source h3 { font-size: 13px; margin: 0; padding: 6px 10px; border-bottom: 1px solid var(--line); }
"""

# Before the page is drawn: the theme of the Airflow UI around the iframe (its <html> class,
# watched for changes), else localStorage["theme"], else the browser's colour scheme.
_THEME = """
(() => {
  const root = document.documentElement, dark = matchMedia("(prefers-color-scheme: dark)");
  const host = () => { try { return parent !== window ? parent.document.documentElement : null; }
                       catch (e) { return null; } };
  const theme = () => {
    const asked = new URLSearchParams(location.search).get("theme");
    if (asked === "dark" || asked === "light") return asked;
    const ui = host();
    if (ui && ui.classList.contains("dark")) return "dark";
    if (ui && ui.classList.contains("light")) return "light";
    let kept = null;
    try { kept = localStorage.getItem("theme"); } catch (e) {}
    if (kept === "dark" || kept === "light") return kept;
    return dark.matches ? "dark" : "light";
  };
  const apply = () => root.classList.toggle("dark", theme() === "dark");
  apply();
  const ui = host();
  if (ui) new MutationObserver(apply).observe(ui, { attributes: true, attributeFilter: ["class"] });
  dark.addEventListener("change", apply);
  addEventListener("storage", apply);
})();
"""

# Clicking a task (in the DAG graph or the table) selects it: the page reloads with
# ?task=<id>. Clicking a node of the signature tree shows its source, and opens its diff.
_SCRIPT = """
const selected = document.body.dataset.selected;
for (const node of document.querySelectorAll("#graph g.node")) {
  if (node.dataset.id === selected) node.classList.add("selected");
}
for (const el of document.querySelectorAll("#graph g.node, tr[data-task]")) {
  el.addEventListener("click", () => {
    const params = new URLSearchParams(location.search);
    params.set("task", el.dataset.task || el.dataset.id);
    location.search = params.toString();
  });
}
for (const node of document.querySelectorAll("#tree g.node")) {
  node.addEventListener("click", () => {
    const key = node.dataset.id;
    for (const other of document.querySelectorAll("#tree g.node.selected")) {
      other.classList.remove("selected");
    }
    node.classList.add("selected");
    const source = [...document.querySelectorAll("#sources > section")]
      .find((s) => s.dataset.key === key);
    const panel = document.getElementById("source");
    panel.hidden = !source;
    if (source) {
      panel.querySelector("h3").textContent = key + " (stored source)";
      panel.querySelector("div").innerHTML = source.innerHTML;
    }
    const diff = [...document.querySelectorAll("details.change")]
      .find((d) => d.dataset.subject === key);
    if (diff) diff.open = true;
    (source ? panel : diff || node).scrollIntoView({ block: "nearest" });
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
    selected = task["task_id"] if task else ""
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        "<meta name='color-scheme' content='light dark'>",
        f"<title>Signatures: {_e(dag_id)}</title><script>{_THEME}</script>",
        f"<style>{_CSS}{diff_css()}{diff_css(dark=True, scope='.dark .diff')}</style></head>",
        f"<body data-selected='{_e(selected)}'>",
        f"<h1 id='title'>Signatures: {_e(dag_id)}</h1>",
        f"<div class='meta'>next run: {_e(counts)} &middot; store <code>{_e(view['store'])}"
        f"</code> &middot; latest run <code>{_e(view['latest_run'] or 'none')}</code>"
        f" &middot; instance <code id='instance'>{_e(view['instance'])}</code>"
        f"{_parsed(view.get('parsed'))}</div>",
        _stale(view.get("parsed")),
        f"<p class='warning' id='warning'>{_e(view['warning'])}</p>" if view["warning"] else "",
        f"<div class='graph' id='graph'>{to_svg(graph, title='next run')}</div>",
        _task_details(task) if task is not None else "",  # right under the graph clicked
        "<h2>Tasks</h2>",
        _task_table(view["tasks"], selected or None),
        f"<script>{_SCRIPT}</script></body></html>",
    ]
    return "\n".join(parts)


def _parsed(parsed: Mapping[str, Any] | None) -> str:
    if parsed is None:
        return ""
    return f" &middot; DAG parsed <span id='parsed'>{_e(parsed_text(parsed['at']))}</span>"


def _stale(parsed: Mapping[str, Any] | None) -> str:
    """Code edited after the parse: the statuses are the parsed code's until the next parse."""
    if not parsed or not parsed["newer"]:
        return ""
    files = ", ".join(f"<code>{_e(f)}</code>" for f in parsed["newer"])
    return (
        f"<p class='warning' id='stale'>Code on disk is newer than this parse: {files} changed "
        "since. What is shown is the parsed code's; it updates when Airflow re-parses the "
        "DAG.</p>"
    )


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
        f"{_badge(task['status'])} <span id='cause'>{_e(task['cause'])}</span></p>"
    )
    if task["map_indexes"] is not None:
        out.append(_map_indexes(task["map_indexes"]))
    out.append(_what_changed(task))
    tree = task["tree"]
    if tree is None:
        out.append("<p>No stored result under this name yet.</p>")
        return "\n".join(out)
    sources = "".join(
        f"<section data-key='{_e(key)}'>{source_html(text)}</section>"
        for key, text in sorted(task["sources"].items())
    )
    out.append(
        f"<h2>Signature tree of the stored result</h2><p>signature "
        f"<code>{_e(tree['signature'])}</code>; click a function or constant for its "
        f"source.</p><div class='graph' id='tree'>{task['picture']}</div>"
        "<div id='source' hidden><h3></h3><div></div></div>"
        f"<div id='sources' hidden>{sources}</div>"
    )
    return "\n".join(out)


def _what_changed(task: Mapping[str, Any]) -> str:
    """Core's explanation: the upstream whose change causes a rerun, and each change with its
    source diff, collapsed (summary: the change in words)."""
    found = task["explanation"]
    if found is None or (found["origin"] is None and not found["diffs"]):
        return ""
    out = ["<h2>What changed</h2>"]
    if found["origin"] is not None:
        origin = found["origin"].get("task_id") or found["origin"]["label"]
        out.append(
            f"<p id='origin'>Because upstream <code>{_e(origin)}</code> reruns: "
            f"{_e(found['origin_cause'])}</p>"
        )
    if found["diffs"]:
        out.append("<div id='changes'>")
        out += [diff_html(SourceDiff.from_dict(d)) for d in found["diffs"]]
        out.append("</div>")
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
