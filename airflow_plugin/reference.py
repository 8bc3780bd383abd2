"""What a skipwise task pushes to XCom: a small reference to its stored result, never the data.

A reference is a plain dict (any XCom backend takes it, the UI shows it)::

    {"skipwise": 1, "name": "taxi.model", "signature": "9f2c...", "store": "/data/skipwise",
     "codec": "json", "status": "reused", "reason": "unchanged", "instance": "mini"}

``store`` is the store's URL as shown to people (a password in it is masked); when the store
came from a ``skipwise`` connection, ``store_conn_id`` names it, so that any worker reopens the
store with the credentials the connection holds, not from XCom.

A result is split into references to its parts, the same dict plus ``"item"`` (a dict's key,
a list's or tuple's index) and ``"parts"`` (how many there are), when its XCom must hold one
entry per part: with ``multiple_outputs=True`` (``return_value`` is the dict of them, and each
key has its own XCom), and when a mapped task expands over the task's result (a list of them
for a list or tuple result, a dict for a dict result), so that Airflow maps over the data and
not over the keys of one reference.

Downstream skipwise tasks turn references into ``skipwise.Ref`` arguments: signed by signature
(and item), loaded only if they run. References to every part of one result, as they were
pushed, stand for the whole result again: one ``Ref``, signed as if it had not been split. A
plain task calls :func:`load`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from skipwise.airflow.stores import task_store
from skipwise.host import Outcome, Ref, Store, StoreSpec, instance_name

FORMAT = 1
ITEM = "item"  # a reference to one part of a result: a dict's key, a list's or tuple's index
PARTS = "parts"  # how many parts that result has
CONN_ID = "store_conn_id"  # the skipwise connection of the store, if it came from one


def reference(outcome: Outcome[Any], store: Store, conn_id: str | None = None) -> dict[str, Any]:
    found = {
        "skipwise": FORMAT,
        "name": outcome.tree.name,
        "signature": outcome.signature,
        "store": store.url,
        "codec": outcome.manifest.codec,
        "status": outcome.status.value,
        "reason": outcome.reason,
        "instance": instance_name(),
    }
    return found if conn_id is None else {**found, CONN_ID: conn_id}


def part_references(whole: Mapping[str, Any], keys: Sequence[str | int]) -> Any:
    """References to each part of the result ``whole`` refers to: a dict by key when the
    keys are strings, else a list by index."""
    parts = {key: {**whole, ITEM: key, PARTS: len(keys)} for key in keys}
    return parts if all(isinstance(key, str) for key in keys) else list(parts.values())


def is_reference(value: object) -> bool:
    return (
        type(value) is dict
        and value.get("skipwise") == FORMAT
        and isinstance(value.get("signature"), str)
    )


def load(value: Any, store: Store | None = None) -> Any:
    """The data a skipwise task's XCom stands for, read from the store: a reference, or a
    list or dict of references (what a task pushes when a mapped task expands over it; the
    results of a mapped task, which a downstream task receives as a lazy sequence). A
    reference is read from ``store`` if it names that store, else from the store it names.

    In a plain task: ``def report(model): coefficients = skipwise.airflow.load(model)``.
    """
    refs = as_refs(value, store)
    if isinstance(refs, Ref):
        return refs.load()
    parts = list(refs.values()) if type(refs) is dict else refs if type(refs) is list else []
    if not parts or not all(isinstance(part, Ref) for part in parts):
        raise TypeError(f"not a skipwise result reference, nor a list or dict of them: {value!r}")
    if type(refs) is dict:
        return {key: ref.load() for key, ref in refs.items()}
    return [ref.load() for ref in parts]


def as_refs(value: Any, store: Store | None = None) -> Any:
    """``value`` with every reference in it (at any depth) replaced by a ``Ref``: signed by
    its signature, loaded only if the task runs (from ``store``, the task's own, if it is the
    reference's). A sequence Airflow builds lazily (a mapped task's results,
    ``XComArg.map``/``zip``/``concat``) becomes a list, in order."""
    if isinstance(value, Sequence) and type(value).__module__.startswith("airflow."):
        value = list(value)
    whole = pushed_reference(value)
    if whole is not None:
        return _ref(whole, store)
    if type(value) in (list, tuple):
        return type(value)(as_refs(v, store) for v in value)
    if type(value) is dict:
        return {k: as_refs(v, store) for k, v in value.items()}
    return value


def pushed_reference(value: object) -> dict[str, Any] | None:
    """The reference a task's XCom stands for: a reference, or references to every part of
    one result (then the reference to that whole result); None for any other value."""
    if is_reference(value):
        return value  # type: ignore[return-value]
    if type(value) in (list, tuple):
        return _whole(dict(enumerate(value)))  # type: ignore[arg-type]
    if type(value) is dict:
        return _whole(value)
    return None


def _whole(parts: Mapping[Any, Any]) -> dict[str, Any] | None:
    """The reference to the whole result when ``parts`` (by index or key) are references to
    every part of it, each at its place, as :func:`part_references` made them."""
    refs = list(parts.values())
    if not refs or not all(is_reference(r) and r.get(PARTS) == len(refs) for r in refs):
        return None
    if any(ref.get(ITEM) != place for place, ref in parts.items()):
        return None
    whole = [{k: v for k, v in r.items() if k not in (ITEM, PARTS)} for r in refs]
    return whole[0] if all(w == whole[0] for w in whole) else None


def _ref(reference: Mapping[str, Any], own: Store | None = None) -> Ref:
    return Ref(reference["signature"], store_at(reference, own), reference.get(ITEM))


def store_at(reference: Mapping[str, Any], own: Store | None = None) -> Store:
    """The store a reference names: ``own`` (the reading task's store) when it has that URL,
    else the store of the reference's connection, else the configured store when it has that
    URL, else the store opened from the URL (which then must hold no password: a URL shown to
    users hides it)."""
    url = reference["store"]
    if own is not None and own.url == url:
        return own
    conn_id = reference.get(CONN_ID)
    candidate = task_store(conn_id if isinstance(conn_id, str) else None).store
    if candidate.url == url:
        return candidate
    return StoreSpec.shown(url, f"the XCom reference to {reference.get('name')}").open()
