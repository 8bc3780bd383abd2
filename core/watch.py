"""What can have changed since a code graph was last checked, without re-running its checks:
the walker's fast path for warm hits (see the top of :mod:`skipwise.walker`). Its cost is one
version read per dictionary the checks read that holds something (module globals: a few per
module), one emptiness test per empty one (two per plain function: its attributes and
annotations, about 30 ns each), and the checks nothing covers.

A graph rests on its entries' checks: the same object behind each name read in a module (or
class, or function attribute), the same code and defaults of each function, the same contents of
each closure cell, the same value of each mutable constant. A :class:`Stamp` covers them all:

- a dictionary read (a module's globals, a class's namespace, a function's attributes and
  annotations, ``sys.modules``) by its version tag, which CPython changes on every write to that
  dictionary (PEP 509: an internal field, read here through ``ctypes`` after a self-test; where
  the test fails, nothing is stamped and every hit runs the full checks as before); an empty
  one by staying empty, which is cheaper still;
- a function's ``__code__``, ``__defaults__`` and ``__kwdefaults__``, and a class's
  ``__bases__`` and metaclass, by the interpreter's audit events ``object.__setattr__`` and
  ``object.__delattr__``, raised when any of them is assigned or deleted: one audit hook,
  added the first time a stamp is wanted (hooks cannot be removed), counts them;
- what neither covers (closure cells, mutable values rehashed every pass, files, partials,
  state written at run time, names read through a chain of scopes) by running its check.

What a stamp cannot see: a function's ``__dict__`` or ``__annotations__`` replaced by a new
dictionary (``f.__dict__ = {...}``) rather than written to. A failing stamp only means the full
checks run (and the stamp is taken again), so a stamp can cost a recomputation, never serve a
stale result for anything it covers.
"""

from __future__ import annotations

import ctypes
import gc
import operator
import sys
from collections.abc import Callable, Iterable

from skipwise.memo import trim

Check = Callable[[], bool]

_generation = 0


def _on_audit(event: str, args: tuple) -> None:
    global _generation
    if event in _ASSIGNMENTS:
        _generation += 1


_ASSIGNMENTS = frozenset({"object.__setattr__", "object.__delattr__"})


def _version_offset() -> int | None:
    """Where a dict's version tag is (after the object header and the item count), if this
    interpreter keeps one that changes on every write; None otherwise."""
    offset = object.__basicsize__ + ctypes.sizeof(ctypes.c_ssize_t)
    probe: dict[str, object] = {"a": 1}
    try:
        used = ctypes.c_ssize_t.from_address(id(probe) + object.__basicsize__).value
        tag = ctypes.c_uint64.from_address(id(probe) + offset)
        first = tag.value
        if used != 1 or tag.value != first:
            return None
        seen = [first]
        for write in (
            lambda: probe.__setitem__("a", 2),
            lambda: probe.__setitem__("b", 1),
            lambda: probe.pop("b"),
            lambda: probe.update(c=3),
            lambda: probe.setdefault("d", 4),
            probe.clear,
        ):
            write()
            if tag.value in seen:
                return None
            seen.append(tag.value)
    except (ValueError, OSError):
        return None
    return offset


def _start() -> int | None:
    if sys.implementation.name != "cpython":
        return None
    offset = _version_offset()
    if offset is None:
        return None
    try:
        sys.addaudithook(_on_audit)
    except RuntimeError:  # another hook refuses new ones
        return None
    return offset


_OFFSET: int | None = None
_started = False


def available() -> bool:
    """Whether stamps can be taken here (CPython with dict version tags); starts the audit
    counter on first use, so a process that never signs has no hook."""
    global _OFFSET, _started
    if not _started:
        _OFFSET, _started = _start(), True
    return _OFFSET is not None


_value = operator.attrgetter("value")


def namespace(obj: object) -> dict | None:
    """The dictionary behind ``vars(obj)`` (a class's is behind a read-only proxy)."""
    found = vars(obj)
    if type(found) is dict:
        return found
    inner = gc.get_referents(found)
    return inner[0] if len(inner) == 1 and type(inner[0]) is dict else None


# One reader of each dictionary's version tag, shared by the stamps that watch it (a stamp
# of a root reaching 5,000 annotated functions would otherwise make 5,000 of its own).
_readers: dict[int, tuple[dict, ctypes.c_uint64]] = {}
_READERS = 60_000  # three per walker entry kept (CACHE_LIMIT)


def _tag(d: dict) -> ctypes.c_uint64:
    found = _readers.get(id(d))
    if found is not None and found[0] is d:
        return found[1]
    assert _OFFSET is not None
    reader = ctypes.c_uint64.from_address(id(d) + _OFFSET)
    _readers[id(d)] = (d, reader)  # pins the dict: its address stays its own
    trim(_readers, _READERS)
    return reader


class Stamp:
    """A snapshot of what a graph's checks read, taken just before they ran and passed."""

    __slots__ = ("_empty", "_generation", "_pins", "_tags", "_versions", "_volatile")

    def __init__(self, dicts: Iterable[dict], volatile: Iterable[Check]) -> None:
        assert _OFFSET is not None
        self._generation = _generation
        unique = {id(d): d for d in dicts}
        full = [d for d in unique.values() if d]
        self._empty = tuple(d for d in unique.values() if not d)
        self._pins = tuple(full)  # the dicts stay alive while their addresses are read
        self._tags = tuple(map(_tag, full))
        self._versions = tuple(map(_value, self._tags))
        self._volatile = tuple(volatile)

    def holds(self) -> bool:
        return (
            self._generation == _generation
            and not any(self._empty)
            and tuple(map(_value, self._tags)) == self._versions
            and all(check() for check in self._volatile)
        )
