"""The DOT picture of a plan, rendered by Graphviz itself: each node's label is two lines (the
task, then why), with quotes and backslashes kept as written. `make test` installs Graphviz."""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET

from skipwise.graph import GraphNode, StatusGraph, to_dot
from skipwise.status import Status

DOT = shutil.which("dot") or "/usr/bin/dot"
SVG = "{http://www.w3.org/2000/svg}"


def rendered_texts(dot: str) -> list[str]:
    """The text lines Graphviz draws, in order."""
    svg = subprocess.run([DOT, "-Tsvg"], input=dot, capture_output=True, text=True, check=True)
    return [t.text or "" for t in ET.fromstring(svg.stdout).iter(f"{SVG}text")]


def test_a_node_label_is_the_task_then_why_on_its_own_line() -> None:
    graph = StatusGraph(
        nodes=[
            GraphNode("a.load", "load", Status.REUSE, "unchanged"),
            GraphNode("a.report", 'report "v2"', Status.RERUN_CODE, r"dependency a:C:\tmp changed"),
            GraphNode("a.plain", "plain", Status.UNMANAGED),
        ],
        edges=[("a.load", "a.report")],
    )
    dot = to_dot(graph, title="a.py")
    assert "\\\\n" not in dot  # the line break is DOT's, not an escaped backslash
    assert rendered_texts(dot) == [
        "load",
        "unchanged",
        'report "v2"',
        r"dependency a:C:\tmp changed",
        "plain",
    ]
