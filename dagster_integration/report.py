"""What a skipwise step tells Dagster: materialization (or check) metadata with the status,
the reason, the signature, the store, the signature tree as JSON and its picture."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dagster as dg

from skipwise.dagster.lineage import SIGNATURE
from skipwise.dagster.picture import signature_graph, svg_data_uri
from skipwise.engine import Outcome
from skipwise.tree import Change, SignatureTree, diff

STATUS = "skipwise/status"
REASON = "skipwise/reason"
STORE = "skipwise/store"
TREE = "skipwise/tree"
GRAPH = "skipwise/graph"


def step_metadata(
    *,
    status: str,
    reason: str,
    tree: SignatureTree,
    store_url: str,
    changes: Sequence[Change] = (),
    graph_status: str,
) -> dict[str, dg.MetadataValue]:
    """``status`` is what users read ("reused", "computed", "will rerun"...); ``graph_status``
    colours the step in the picture (a ``skipwise.graph.STATUS_STYLE`` key)."""
    picture = svg_data_uri(signature_graph(tree, changes, graph_status), title=tree.name)
    lines = [f"**{tree.name}: {status}**: {reason}", "", f"![signature graph]({picture})"]
    if changes:
        lines += ["", "| what changed |", "|---|", *(f"| {c.describe()} |" for c in changes)]
    return {
        STATUS: dg.MetadataValue.text(status),
        REASON: dg.MetadataValue.text(reason),
        SIGNATURE: dg.MetadataValue.text(tree.signature),
        STORE: dg.MetadataValue.text(store_url),
        TREE: dg.MetadataValue.json(_tree_json(tree)),
        GRAPH: dg.MetadataValue.md("\n".join(lines)),
    }


def outcome_metadata(
    outcome: Outcome[Any], store_url: str, previous: SignatureTree | None
) -> dict[str, dg.MetadataValue]:
    """Metadata for what a step did; ``previous`` is the tree of the result it replaced."""
    changes: list[Change] = []
    if outcome.status == "reused":
        graph_status = "reuse"
    elif previous is None:
        graph_status = "new"
    else:
        graph_status = "changed"
        changes = diff(previous, outcome.tree)
    return step_metadata(
        status=outcome.status,
        reason=outcome.reason,
        tree=outcome.tree,
        store_url=store_url,
        changes=changes,
        graph_status=graph_status,
    )


def _tree_json(tree: SignatureTree) -> dict[str, Any]:
    """The tree without source texts: those stay in the store (``skipwise show``)."""
    data = tree.to_dict()
    data.pop("sources", None)
    return data
