"""Bounds for process-wide memo tables. A long-lived process (an API server, a webserver, a
notebook) signs objects it later drops, so no table may keep all it was ever given."""

from __future__ import annotations

import itertools


def trim(table: dict, limit: int) -> None:
    """Drop the oldest items (a dict keeps insertion order) until at most ``limit`` are left.
    Lookups stay plain dict lookups; a table that threads share loses at most an extra item."""
    excess = len(table) - limit
    if excess > 0:
        for key in list(itertools.islice(table, excess)):
            table.pop(key, None)
