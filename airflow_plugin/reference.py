"""What a skipwise task pushes to XCom: a small reference to its stored result, never the data.

A reference is a plain dict (any XCom backend takes it, the UI shows it)::

    {"skipwise": 1, "name": "taxi.model", "signature": "9f2c...", "store": "/data/skipwise",
     "codec": "json", "status": "reused", "reason": "unchanged"}

With ``multiple_outputs=True`` each key's XCom is a reference to one item of the stored
result: the same dict with ``"item": key`` (``return_value`` is the dict of them).

Downstream skipwise tasks turn references into ``skipwise.Ref`` arguments: signed by signature
(and item), loaded only if they run. A plain task calls :func:`load`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from skipwise import open_store
from skipwise.host import Outcome, Ref, Store, current_store

FORMAT = 1
ITEM = "item"  # a reference to one item of a dict result (multiple_outputs)


def reference(outcome: Outcome[Any], store: Store) -> dict[str, Any]:
    return {
        "skipwise": FORMAT,
        "name": outcome.tree.name,
        "signature": outcome.signature,
        "store": store.url,
        "codec": outcome.manifest.codec,
        "status": outcome.status.value,
        "reason": outcome.reason,
    }


def is_reference(value: object) -> bool:
    return (
        type(value) is dict
        and value.get("skipwise") == FORMAT
        and isinstance(value.get("signature"), str)
    )


def load(reference: Mapping[str, Any], store: Store | None = None) -> Any:
    """The object a skipwise task's XCom reference stands for, read from the store.

    In a plain task: ``def report(model): coefficients = skipwise.airflow.load(model)``.
    """
    if not is_reference(reference):
        raise TypeError(f"not a skipwise result reference: {reference!r}")
    return _ref(reference, store).load()


def _ref(reference: Mapping[str, Any], store: Store | None = None) -> Ref:
    store = store or store_at(reference["store"])
    return Ref(reference["signature"], store, reference.get(ITEM))


def store_at(url: str) -> Store:
    """The store a reference names: the configured store when it has that URL (a URL shown to
    users hides passwords), else the store opened from the URL."""
    current = current_store()
    return current if current.url == url else _opened(url)


@functools.lru_cache(maxsize=16)
def _opened(url: str) -> Store:
    return open_store(url)


def as_refs(value: Any) -> Any:
    """``value`` with every reference in it (at any depth) replaced by a ``Ref``: signed by
    its signature, loaded only if the task runs."""
    if is_reference(value):
        return _ref(value)
    if type(value) in (list, tuple):
        return type(value)(as_refs(v) for v in value)
    if type(value) is dict:
        return {k: as_refs(v) for k, v in value.items()}
    return value
