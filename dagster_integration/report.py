"""What a skipwise step tells Dagster: materialization (or check) metadata with the status,
the reason, the signature, the store, the signature tree as JSON and its picture."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import dagster as dg

from skipwise.dagster.lineage import SIGNATURE
from skipwise.host import (
    Change,
    Outcome,
    PlanItem,
    SignatureTree,
    Status,
    StatusGraph,
    Store,
    latest_tree,
    to_svg,
    tree_graph,
)

STATUS = "skipwise/status"
REASON = "skipwise/reason"
STORE = "skipwise/store"
TREE = "skipwise/tree"
GRAPH = "skipwise/graph"


def step_metadata(
    *,
    status: Status,
    reason: str,
    tree: SignatureTree,
    store_url: str,
    changes: Sequence[Change] = (),
    graph_status: Status,
) -> dict[str, dg.MetadataValue]:
    """``status`` is what users read (reused, computed, will rerun...); ``graph_status``
    colours the step in the picture."""
    picture = svg_data_uri(tree_graph(tree, changes, graph_status), title=tree.name)
    lines = [f"**{tree.name}: {status}**: {reason}", "", f"![signature graph]({picture})"]
    if changes:
        lines += ["", "| what changed |", "|---|", *(f"| {c.describe()} |" for c in changes)]
    return {
        STATUS: dg.MetadataValue.text(status.value),
        REASON: dg.MetadataValue.text(reason),
        SIGNATURE: dg.MetadataValue.text(tree.signature),
        STORE: dg.MetadataValue.text(store_url),
        TREE: dg.MetadataValue.json(_tree_json(tree)),
        GRAPH: dg.MetadataValue.md("\n".join(lines)),
    }


def outcome_metadata(outcome: Outcome[Any], store_url: str) -> dict[str, dg.MetadataValue]:
    """Metadata for what a step did, with what changed since the result it replaced."""
    return step_metadata(
        status=outcome.status,
        reason=outcome.reason,
        tree=outcome.tree,
        store_url=store_url,
        changes=outcome.changes,
        graph_status=outcome.picture_status,
    )


def plan_metadata(item: PlanItem, store: Store) -> dict[str, dg.MetadataValue]:
    """Metadata for what the next materialization will do (an asset check): the plan's status
    and reason, and, when a result is stored, its tree coloured by what changed since."""
    stored = latest_tree(store, item.name)
    if stored is None:
        return {
            STATUS: dg.MetadataValue.text(item.status.value),
            REASON: dg.MetadataValue.text(item.cause),
            STORE: dg.MetadataValue.text(store.url),
        }
    return step_metadata(
        status=item.status,
        reason=item.cause,
        tree=stored,
        store_url=store.url,
        changes=item.changes,
        graph_status=item.status,
    )


def _tree_json(tree: SignatureTree) -> dict[str, Any]:
    """The tree without source texts: those stay in the store (``skipwise show``)."""
    data = tree.to_dict()
    data.pop("sources", None)
    return data


def svg_data_uri(graph: StatusGraph, title: str = "") -> str:
    """The picture as a ``data:`` URI: Dagster's Markdown renders it (no Mermaid, no HTML)."""
    svg = to_svg(graph, title=title).encode()
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode()
