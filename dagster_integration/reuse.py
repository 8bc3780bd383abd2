"""Run a step unless its result is stored, without loading a stored result: Dagster records
a hit by its signature, and the value is loaded only by a downstream step that runs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from skipwise.engine import Cached, Outcome
from skipwise.store import CorruptEntry, Store
from skipwise.tree import SignatureTree


def run_or_reuse(
    step: Cached[..., Any],
    store: Store,
    tree: SignatureTree,
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
) -> tuple[Outcome[Any], SignatureTree | None]:
    """The outcome (its value is None on a hit) and, on a miss, the tree of the result the
    name pointed to before (what changed). A damaged entry is never served: its manifest
    fails here and the step recomputes, or its data fails the checksum of whoever loads it."""
    try:
        manifest = store.manifest(tree.signature)
    except CorruptEntry:
        manifest = None  # execute() reports it and recomputes
    if manifest is not None:
        # Core hook wanted: Cached.execute(..., load=False). Until then, the core's own
        # pointer update (memoised, read-only aware, store-error policy).
        step._advance_pointer(store, tree.signature)
        return Outcome(None, tree.signature, "reused", "unchanged", manifest, tree), None
    previous = step.previous_tree(store)
    return step.execute(tree, args, kwargs), previous
