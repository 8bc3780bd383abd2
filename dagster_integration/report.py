"""What a skipwise step tells Dagster: materialization and check metadata with the status,
the reason, the signature, the store, the signature tree as JSON, its picture and the source
diff of what changed.

The picture and the diffs come from core (``tree_graph``/``Explanation.graph``, ``to_svg``,
``source_diffs``/``explain``, ``diff_markdown``), the same that ``skipwise explain`` prints and
the Airflow tab shows. Dagster's Markdown renders ``data:`` images, not Mermaid or HTML, and
shows a value inline only under 1,000 characters: the words and a short diff read in the
metadata table, the picture opens with ``[Show Markdown]``.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import dagster as dg

from skipwise.dagster.lineage import INSTANCE, SIGNATURE
from skipwise.host import (
    Explanation,
    Outcome,
    SignatureTree,
    SourceDiff,
    Status,
    StatusGraph,
    diff_markdown,
    instance_name,
    source_diffs,
    to_svg,
    tree_graph,
)

STATUS = "skipwise/status"
REASON = "skipwise/reason"
STORE = "skipwise/store"
TREE = "skipwise/tree"
GRAPH = "skipwise/graph"
DIFF = "skipwise/diff"


def outcome_metadata(
    outcome: Outcome[Any], store_url: str, replaced: SignatureTree | None = None
) -> dict[str, dg.MetadataValue]:
    """Metadata for what a step did. ``replaced`` is the tree of the result it replaced (read
    before a miss ran): the diff shows the source of each code change since; without it
    (a plain asset's output, signed by content) the changes are listed."""
    # Core says which changes have a source diff (code) and which do not (a value, an input).
    diffs = source_diffs(outcome.changes, replaced.code, outcome.tree.code) if replaced else ()
    others = [] if replaced else [c.describe() for c in outcome.changes]
    picture = tree_graph(outcome.tree, outcome.changes, outcome.picture_status)
    return {
        **_words(outcome.status, outcome.reason, store_url),
        **_tree(outcome.tree, picture),
        **_diff(diffs, others),
        INSTANCE: dg.MetadataValue.text(instance_name()),
    }


def explanation_metadata(found: Explanation, store_url: str) -> dict[str, dg.MetadataValue]:
    """Metadata for what the next materialization will do (an asset check): the plan's status
    and reason, what upstream change causes it, the source diff of that change and the stored
    tree coloured as the plan says."""
    metadata = _words(found.item.status, found.item.cause, store_url)
    if found.stored is not None:
        metadata.update(_tree(found.stored, found.graph()))
    because = (
        []
        if found.origin is found.item
        else [f"because {found.origin.label}: {found.origin.cause}"]
    )
    metadata.update(_diff(found.diffs, because))
    return metadata


def _words(status: Status, reason: str, store_url: str) -> dict[str, dg.MetadataValue]:
    return {
        STATUS: dg.MetadataValue.text(status.value),
        REASON: dg.MetadataValue.text(reason),
        STORE: dg.MetadataValue.text(store_url),
    }


def _tree(tree: SignatureTree, picture: StatusGraph) -> dict[str, dg.MetadataValue]:
    """The tree without source texts (those stay in the store: ``skipwise show``)."""
    data = tree.to_dict()
    data.pop("sources", None)
    return {
        SIGNATURE: dg.MetadataValue.text(tree.signature),
        TREE: dg.MetadataValue.json(data),
        GRAPH: dg.MetadataValue.md(f"![{tree.name}: signature graph]({svg_data_uri(picture)})"),
    }


def _diff(diffs: Sequence[SourceDiff], notes: Sequence[str]) -> dict[str, dg.MetadataValue]:
    """What changed, as Markdown: ``notes`` (changes without a source, an upstream cause),
    then each source diff in a ``diff`` code block; nothing when nothing changed."""
    if not diffs and not notes:
        return {}
    lines = [*(f"- {note}\n" for note in notes), *(diff_markdown(diff) for diff in diffs)]
    return {DIFF: dg.MetadataValue.md("\n".join(lines))}


def svg_data_uri(graph: StatusGraph) -> str:
    """The picture as a ``data:`` URI: Dagster's Markdown renders it (no Mermaid, no HTML).
    No title: the entry's label and the image's alt text name it."""
    svg = to_svg(graph).encode()
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode()
