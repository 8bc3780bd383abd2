"""Builds the code graph of a function: everything in user code it can reach.

Names are resolved in the function's globals and closure at the time of the call, so a rebound
global is seen. The walk follows user code only; standard-library and installed packages become
``external`` nodes. Methods of a class are included when reachable: dunder methods always,
others when their name is loaded as an attribute (or appears as a string constant, for
``getattr(x, "name")``, or starts with the literal prefix of a computed name, for
``getattr(self, f"_on_{kind}")``) anywhere in the reachable code, a fixpoint, since a newly
included method can make more names reachable.

Keys name locations, never paths (see :class:`_Walk`), so the closure of a function, class or
module is part of the closure of whatever reaches it: each is computed once per change and merged
into the closures that reach it. A root's graph stays independent of what else was signed.

Cache layers: a warm signature only re-checks. What is remembered, and what ends it:

- Per process and boundary (``_caches``; ``configure()`` makes a new boundary, and the old
  cache goes with the old boundary). *Entries*: what processing one object produced (digest,
  the objects it resolved, source), with checks that it still holds: the same ``__code__``,
  defaults, attributes and closure cells, the same object behind every global name and module
  attribute read, the same class dictionary, bases and metaclass, the same module in
  ``sys.modules``. A mutable value (a list constant, a mutable default) is rehashed every
  pass instead, and compared. *Closures*: everything a function, class or module reaches,
  merged from the closures of what it reaches; one holds while every entry of it and of every
  closure merged into it holds.
- Per root, a stamp (:mod:`skipwise.watch`): once a root's closure passed its checks in full,
  a warm hit checks only what can have changed, by the version tags of the dictionaries the
  checks read (module globals, class namespaces, function attributes and annotations,
  ``sys.modules``), an audit-event counter for code, defaults and bases assigned, and the checks
  nothing watches (closure cells, mutable values rehashed, files, partials, run-time state).
  Its cost grows with the dictionaries read, not the checks (about 30 ns per function reached,
  against 5 us for the full checks); when anything it watches changed, the full checks run.
- Per change: an entry whose check fails is processed again, and a closure resting on it is
  walked again (merging the closures that still hold).
- Per pass (a :class:`Walker`: one ``signing_pass()`` block, or one ``code_graph()`` call):
  nothing is assumed to change within a pass, so checks run at most once per entry and closure
  (``epoch``), and what each object is (``_classified``) and how a module's names resolve
  (``resolved``), and which modules bind each global value (:mod:`skipwise.writes`) are shared
  between its roots. Per walk (a :class:`_Walk`, one closure): the
  keys given to objects.
- Bounds: when a pass starts, entries and closures beyond ``CACHE_LIMIT`` each are dropped,
  oldest first (one still in use is processed once more). A cached item pins its object (so
  its id is not reused) and what its checks read (a module's globals), so a long-lived process
  that signs new code keeps at most that many. Elsewhere, bounded the same way, oldest first:
  what each code object loads and is (:mod:`skipwise.facts`, by identity: code never
  changes), parsed source files (:mod:`skipwise.source`, parsed again when a file changes),
  which modules are user code (:class:`Boundary`) and the warnings given (``_warned``). A
  marker for an unbound name lives while an entry uses it. What user code writes at run time
  (:mod:`skipwise.writes`) is indexed per boundary and indexed again when ``sys.modules``
  grows or shrinks; an entry hashed by import-time statements is checked against it too.
"""

from __future__ import annotations

import ast
import builtins
import collections
import functools
import importlib
import importlib.util
import inspect
import sys
import types
import warnings
import weakref
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

from skipwise import source as _source
from skipwise import watch as _watch
from skipwise import writes as _writes
from skipwise.attributes import computes_attributes, defines, instance_state, static_attribute
from skipwise.boundary import Boundary, canonical_key, module_label, module_named
from skipwise.codegraph import CodeGraph, CodeNode, graph_digest
from skipwise.errors import SkipwiseWarning
from skipwise.facts import (
    IMPORTED_MODULE,
    class_definition,
    class_source,
    function_facts,
    function_source,
    leading_words,
    location_text,
)
from skipwise.hashing import digest_fields
from skipwise.inputs import Input, portable_text
from skipwise.memo import trim
from skipwise.reads import ADVICE, reads_of
from skipwise.values import Unhashable, ValueHasher, qualified_type_name
from skipwise.writes import STATE_TYPES, resolve

_MISSING = object()
Check = Callable[[], bool]


class _Child(NamedTuple):
    label: str
    obj: object
    binding: str
    state: bool = False

    def same_as(self, other: _Child) -> bool:
        return (self.label, self.binding, self.state) == (
            other.label,
            other.binding,
            other.state,
        ) and self.obj is other.obj


@dataclass(eq=False, slots=True)
class _Entry:
    """What processing one object produced, and the checks that say it still holds."""

    kind: str
    digest: str
    children: tuple[_Child, ...] = ()
    source: str = ""
    text: Callable[[], str] | None = None  # source read on demand, for diffs
    location: str = ""
    attr_names: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()  # members starting with one are reachable (computed names)
    # A class's members (name, value, written at run time), included when reachable.
    members: tuple[tuple[str, object, bool], ...] = ()
    # Members that count even when no user code names them (the class derives from a library
    # class, whose code may call or read them).
    library_facing: frozenset[str] = frozenset()
    checks: tuple[Check, ...] = ()
    lookups: tuple[tuple[dict, str, object], ...] = ()  # (scope, name, value) read: still there
    # What a stamp watches instead of running ``lookups`` and ``checks`` (see skipwise.watch):
    # dictionaries whose version covers them, and the checks nothing covers.
    watched: tuple[dict, ...] = ()
    volatile: tuple[Check, ...] = ()
    rebuild: Callable[[], _Entry] | None = None  # set for mutable values: rehash every epoch
    warnings: tuple[str, ...] = ()
    validated: int = -1
    nodes: dict[str, CodeNode] = field(default_factory=dict)  # the node last built, by key

    def holds(self, epoch: int) -> bool:
        if self.validated == epoch:
            return True
        if self.rebuild is not None and not self.same_when_rebuilt():
            return False
        for scope, name, value in self.lookups:
            if scope.get(name, _MISSING) is not value:
                return False
        for check in self.checks:
            if not check():
                return False
        self.validated = epoch
        return True

    def same_when_rebuilt(self) -> bool:
        """A mutable value (``rebuild``): whether processing it again gives the same entry."""
        assert self.rebuild is not None
        fresh = self.rebuild()
        return (
            fresh.digest == self.digest
            and len(fresh.children) == len(self.children)
            and all(a.same_as(b) for a, b in zip(fresh.children, self.children, strict=True))
        )


class _Marker:
    """Stands for what has a name but no content to hash: a global that is not defined (yet),
    or a module's ``__file__``/``__name__`` (its location, which must not count)."""

    __slots__ = ("__weakref__", "key")

    def __init__(self, key: str):
        self.key = key


# One marker per name while entries use it (children compare by identity).
_markers: weakref.WeakValueDictionary[str, _Marker] = weakref.WeakValueDictionary()
_MODULE_FACTS = {"__file__", "__name__", "__spec__", "__loader__", "__cached__", "__path__"}
_MODULE_FACTS |= {"__package__", "__builtins__"}
# Names the language or a library calls without user code naming them.
_PROTOCOL_NAMES = frozenset({"keys"})
# Class dictionary entries that are interpreter or library machinery, not the class's content.
_CLASS_MACHINERY = frozenset(
    [
        "__module__",
        "__qualname__",
        "__doc__",
        "__dict__",
        "__weakref__",
        "__dataclass_fields__",
        "__dataclass_params__",
        "__firstlineno__",
        "__static_attributes__",
        "__orig_bases__",
        "__parameters__",
        "__slotnames__",
        "__annotations__",
        "__abstractmethods__",
        "_abc_impl",
        "_member_map_",
        "_member_names_",
        "_member_type_",
        "_value2member_map_",
        "_value_repr_",
        "_unhashable_values_",
        "_new_member_",
        "_use_args_",
        "_hashable_values_",
        "__signature__",
    ]
)


def _dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")


# Entries (and closures) kept per boundary: more than a large codebase reaches (signing 1,000
# functions makes 1,300 entries and 1,150 closures, about 10 MB), not all a server ever signs.
CACHE_LIMIT = 20_000


class _Cache:
    """Processed objects by (id, key, state), and closures by (id, key, all members); objects
    are pinned while cached, so ids are not reused."""

    def __init__(self) -> None:
        self.entries: dict[tuple[int, str, bool], tuple[object, _Entry]] = {}
        self.closures: dict[tuple[int, str, bool], _Closure] = {}
        self.epoch = 0


_caches: weakref.WeakKeyDictionary[Boundary, _Cache] = weakref.WeakKeyDictionary()


def new_epoch(boundary: Boundary) -> tuple[_Cache, int]:
    """Start a signing pass: checks run at most once per entry per pass, and what is cached
    beyond the bound goes (not during a pass, which may need all it walked)."""
    cache = _caches.get(boundary)
    if cache is None:
        cache = _caches[boundary] = _Cache()
    cache.epoch += 1
    _writes.new_pass(boundary)
    trim(cache.entries, CACHE_LIMIT)
    trim(cache.closures, CACHE_LIMIT)
    return cache, cache.epoch


_warned: dict[str, None] = {}  # messages given, the latest _WARNINGS
_WARNINGS = 4096
_BY_BINDING = frozenset({"constant", "state"})
# Kinds whose closure is kept and reused inside the closures of everything that reaches them.
_SHARED = frozenset({"function", "class", "module"})
# Closures computed inside another's walk (nesting); deeper ones are walked inline.
_MAX_NESTING = 40


def _emit(messages: Iterable[str]) -> None:
    """Warn once per process about what the analysis cannot follow or hash."""
    for message in messages:
        if message not in _warned:
            _warned[message] = None
            trim(_warned, _WARNINGS)
            warnings.warn(message, SkipwiseWarning, stacklevel=6)


@dataclass(eq=False, slots=True)
class _Closure:
    """Everything one object reaches, as nodes keyed by location. Because no key depends on
    the path that reached it, the closure of anything reached is a subset of the closure of
    what reaches it, so closures are computed once and merged, not walked again per root."""

    root: object
    key: str
    nodes: dict[str, CodeNode]
    attr_names: set[str]  # read only, as every field
    prefixes: set[str]
    classes: dict[str, _Entry]  # classes reached, whose members count when reachable
    members: dict[str, dict[str, str]]  # class key -> "member:NAME" -> member key, included
    warnings: tuple[str, ...]
    entries: tuple[_Entry, ...]  # processed by this closure's own walk
    parts: tuple[_Closure, ...]  # closures merged into this one
    validated: int = -1
    _graph: CodeGraph | None = None
    stamp: _watch.Stamp | None = None  # taken when its checks last passed in full

    def holds(self, epoch: int, stamp: bool = False) -> bool:
        """Whether every entry it (and every closure merged into it) rests on still holds:
        by its stamp when nothing the stamp watches changed, else by running every check.
        ``stamp``: take a stamp when the checks pass (for roots: a closure reached inside a
        walk is checked in full, which happens only after a change)."""
        if self.validated == epoch:
            return True
        if self.stamp is not None and self.stamp.holds():
            self.validated = epoch
            return True
        self.stamp = None
        taken = self._stamp() if stamp else None  # before the checks: a change during them
        if not self._checks_hold(epoch):  # fails the stamp next time
            return False
        self.stamp = taken
        return True

    def _stamp(self) -> _watch.Stamp | None:
        if not _watch.available():
            return None
        watched: list[dict] = []
        volatile: list[Check] = []
        for entry in self._all_entries():
            watched += entry.watched
            volatile += entry.volatile
            if entry.rebuild is not None:
                volatile.append(entry.same_when_rebuilt)
        return _watch.Stamp(watched, volatile)

    def _all_entries(self) -> Iterable[_Entry]:
        seen: set[int] = set()
        stack = [self]
        while stack:
            closure = stack.pop()
            if id(closure) not in seen:
                seen.add(id(closure))
                yield from closure.entries
                stack.extend(closure.parts)

    def _checks_hold(self, epoch: int) -> bool:
        seen: dict[int, _Closure] = {}
        stack = [self]
        while stack:
            closure = stack.pop()
            if closure.validated == epoch or id(closure) in seen:
                continue
            if not all(entry.holds(epoch) for entry in closure.entries):
                return False
            seen[id(closure)] = closure
            stack.extend(closure.parts)
        for closure in seen.values():
            closure.validated = epoch
        return True

    def graph(self) -> CodeGraph:
        if self._graph is None:
            self._graph = CodeGraph(self.key, graph_digest(self.nodes), self.nodes, self.warnings)
        return self._graph


class Walker:
    """Builds the :class:`CodeGraph` of roots within one signing pass."""

    def __init__(self, boundary: Boundary):
        self.boundary = boundary
        self.cache, self.epoch = new_epoch(boundary)
        self._classified: dict[tuple[int, str, bool], tuple[object, _Kind]] = {}
        self._active: list[int] = []  # ids of the objects whose closures are being walked
        self.resolved: dict[tuple, tuple[dict, list[_Child], list[Check], list[tuple]]] = {}

    def graph(
        self,
        root: object,
        binding: str,
        declared: tuple[object, ...] = (),
        warn_dynamic: bool = True,
        all_members: bool = False,
    ) -> CodeGraph:
        """``all_members``: a class whose every member counts (an argument's class: the callee
        may call any of its methods)."""
        if declared:
            graph = self._walk(root, binding, declared, all_members).graph()
        else:
            graph = self.closure(root, binding, all_members, root=True).graph()
        if warn_dynamic:
            _emit(graph.warnings)
        return graph

    def closure(
        self, obj: object, key: str, all_members: bool = False, root: bool = False
    ) -> _Closure:
        memo_key = (id(obj), key, all_members)
        hit = self.cache.closures.get(memo_key)
        if hit is not None and hit.root is obj and hit.holds(self.epoch, stamp=root):
            return hit
        made = self.cache.closures[memo_key] = self._walk(obj, key, (), all_members)
        return made

    def shared_closure(self, obj: object, key: str) -> _Closure | None:
        """The closure of something reached, unless it is being walked (a cycle: its closure
        is not complete yet) or the walk is nested too deep; then the caller walks it inline."""
        if id(obj) in self._active or len(self._active) >= _MAX_NESTING:
            return None
        # Reached from the root's own walk (a root with ``depends_on`` is walked every time):
        # stamped, so the next hit checks it by its stamp.
        return self.closure(obj, key, root=len(self._active) == 1)

    def _walk(
        self, root: object, binding: str, declared: tuple[object, ...], all_members: bool
    ) -> _Closure:
        self._active.append(id(root))
        try:
            closure = _Walk(self).run(root, binding, declared, all_members)
        finally:
            self._active.pop()
        closure.validated = self.epoch
        return closure

    def classify(self, obj: object, binding: str, state: bool) -> _Kind:
        """What ``obj`` is and its key; memoised for the pass (nothing changes within one)."""
        memo_key = (id(obj), binding, state)
        hit = self._classified.get(memo_key)
        if hit is not None and hit[0] is obj:
            return hit[1]
        result = _classify(self.boundary, obj, binding, state)
        self._classified[memo_key] = (obj, result)
        return result

    def entry(self, obj: object, key: str, state: bool, kind: str) -> _Entry:
        cache_key = (id(obj), key, state)
        cached = self.cache.entries.get(cache_key)
        if cached is not None and cached[0] is obj and cached[1].holds(self.epoch):
            return cached[1]
        made = _process(self.boundary, key, kind, obj, self.resolved)
        made.validated = self.epoch
        self.cache.entries[cache_key] = (obj, made)
        return made


class _Walk:
    """One closure's walk: processes what it reaches, merging the closures of shared objects.

    A key names where an object is, never the path that reached it: an object's own
    ``module:qualname`` when that leads back to it, else the location it was found at (a
    module global, a closure cell, a member). A location below one that holds the same object
    (a function in its own closure cell) takes the outer key, which ends the cycle.
    """

    def __init__(self, walker: Walker):
        self.walker = walker
        self.boundary = walker.boundary
        self.fixed: dict[int, str] = {}  # id -> key, for objects whose key is their own name
        self.located: dict[tuple[int, str, bool], str] = {}  # (id, binding, state) -> key
        self.owned: dict[int, list[str]] = {}  # id -> locations that gave it its key
        self.pins: list[object] = []
        self.nodes: dict[str, CodeNode] = {}
        self.entries: list[_Entry] = []
        self.parts: list[_Closure] = []
        self.queue: deque[tuple[object, str, bool, str]] = deque()
        self.queued: set[str] = set()
        self.attr_names: set[str] = set()
        self.prefixes: set[str] = set()
        self.classes: dict[str, _Entry] = {}
        self.members: dict[str, dict[str, str]] = {}
        self.warnings: list[str] = []
        self.root_key = ""

    def run(
        self, root: object, binding: str, declared: tuple[object, ...], all_members: bool = False
    ) -> _Closure:
        self.all_members = all_members
        root_key = self.root_key = self.visit(root, binding)
        self.drain()
        extra = {
            f"depends_on[{i}]": self.visit(dep, f"{root_key}/depends_on[{i}]")
            for i, dep in enumerate(declared)
        }
        self.drain()
        self._include_reachable_members()
        for key, refs in ((root_key, extra), *self.members.items()):
            node = self.nodes[key]
            if any(node.refs.get(label) != ref for label, ref in refs.items()):
                self.nodes[key] = replace(node, refs={**node.refs, **refs})
        return _Closure(
            root,
            root_key,
            self.nodes,
            self.attr_names,
            self.prefixes,
            self.classes,
            self.members,
            tuple(sorted(set(self.warnings))),
            tuple(dict.fromkeys(self.entries)),
            tuple(self.parts),
        )

    def visit(self, obj: object, binding: str, state: bool = False) -> str:
        key = self.fixed.get(id(obj))
        if key is not None:
            return key
        memo = (id(obj), binding, state)
        key = self.located.get(memo)
        if key is not None:
            return key
        kind, target, key, own_name = self.walker.classify(obj, binding, state)
        self.pins.append(obj)
        if kind == "alias":
            key = self.located[memo] = self.visit(target, binding, state)
            return key
        if own_name:
            self.fixed[id(obj)] = key
        else:
            if kind not in _BY_BINDING:
                key = self._location_key(obj, key)
            self.located[memo] = key
        if key in self.nodes or key in self.queued:
            return key
        if kind == "external":
            version = (
                self.boundary.package_version(_module_name(obj))
                if self.boundary.track_packages
                else ""
            )
            self.nodes[key] = CodeNode(key, "external", version, {})
            return key
        if own_name and kind in _SHARED and self.root_key:
            part = self.walker.shared_closure(obj, key)
            if part is not None:
                self._merge(part)
                return key
        self.queued.add(key)
        self.queue.append((obj, key, state, kind))
        return key

    def _location_key(self, obj: object, location: str) -> str:
        for outer in self.owned.get(id(obj), ()):
            if location.startswith(outer) and location[len(outer) : len(outer) + 1] in "/.[":
                return outer
        self.owned.setdefault(id(obj), []).append(location)
        return location

    def _merge(self, part: _Closure) -> None:
        self.parts.append(part)
        self.nodes.update(part.nodes)
        self.attr_names |= part.attr_names
        self.prefixes |= part.prefixes
        self.classes.update(part.classes)
        for key, refs in part.members.items():
            self.members.setdefault(key, {}).update(refs)
        self.warnings += part.warnings

    def drain(self) -> None:
        while self.queue:
            obj, key, state, kind = self.queue.popleft()
            entry = self.walker.entry(obj, key, state, kind)
            self.entries.append(entry)
            refs = {c.label: self.visit(c.obj, c.binding, c.state) for c in entry.children}
            node = entry.nodes.get(key)
            if node is None or node.refs != refs:
                # Closures that resolve this entry's references alike share one node.
                node = entry.nodes[key] = CodeNode(
                    key, entry.kind, entry.digest, refs, entry.source, entry.location, entry.text
                )
            self.nodes[key] = node
            self.attr_names |= entry.attr_names
            self.prefixes.update(entry.prefixes)
            self.warnings += entry.warnings
            if entry.members:
                self.classes[key] = entry
                self.members.setdefault(key, {})

    def _include_reachable_members(self) -> None:
        changed = True
        while changed:
            changed = False
            prefixes = tuple(self.prefixes)
            for key, entry in list(self.classes.items()):
                included = self.members[key]
                if len(included) == len(entry.members):
                    continue
                everything = self.all_members and key == self.root_key
                for name, member, state in entry.members:
                    label = "member:" + name
                    if label in included or not (
                        everything
                        or name in entry.library_facing
                        or _reachable(name, self.attr_names, prefixes)
                    ):
                        continue
                    included[label] = self.visit(member, f"{key}.{name}", state)
                    self.drain()
                    changed = True


def _reachable(name: str, attr_names: set[str], prefixes: tuple[str, ...]) -> bool:
    """Dunder and sunder members are called by the language or a library (``__init__``,
    ``_missing_``); others when reachable code names them, or computes a name with a literal
    prefix they start with (``getattr(self, f"_on_{kind}")``)."""
    return (
        name in attr_names
        or name in _PROTOCOL_NAMES
        or (name.startswith("_") and name.endswith("_") and len(name) > 2)
        or (bool(prefixes) and name.startswith(prefixes))
    )


# --- what an object is, and its key ------------------------------------------------------


_Kind = tuple[str, object, str, bool]
_STATE_SUFFIX = "#state"


def _classify(boundary: Boundary, obj: object, binding: str, state: bool) -> _Kind:
    """(kind, object to process instead, key, whether the key is the object's own name rather
    than where it was found)."""
    if state and not is_code(obj):
        # Written at run time (see skipwise.writes): hashed by what import time put there.
        return "state", obj, binding + _STATE_SUFFIX, False
    inner = _unwrap(obj)
    if inner is not obj:
        return "alias", inner, binding, False
    t = type(obj)  # what the object is, by its type: asking the object may run its code
    if t is _Marker:
        return "marker", obj, obj.key, True
    if issubclass(t, Input):  # a file or environment variable: one node, whoever reads it
        return obj.kind, obj, obj.key, True
    if callable(defines(t, "__skipwise_node__")):
        return "cached", obj, binding, False
    if issubclass(t, types.FunctionType):
        if boundary.is_user_module(obj.__module__):
            return _named("function", obj, binding)
        if _safe_getattr(obj, "__wrapped__") is _MISSING:
            return "external", obj, _external_key(obj), True
        return "wrapper", obj, binding, False  # a library's wrapper around user code
    if issubclass(t, type):
        if not boundary.is_user_type(obj):
            return "external", obj, _external_key(obj), True
        return _named("class", obj, binding)
    if issubclass(t, types.ModuleType):
        if not boundary.is_user_module(obj.__name__):
            return "external", obj, _external_key(obj), True
        return "module", obj, f"module:{module_label(obj.__name__)}", True
    if issubclass(t, _PARTIAL_TYPES):
        return "partial", obj, binding, False
    if _external_callable(obj) and not boundary.is_user_module(_module_name(obj)):
        # ``np.sqrt``, and ``random.randrange``: a method bound to the library's own instance,
        # which it exports by name; that instance's state (a seeded generator) is not code.
        return "external", obj, _external_key(obj), True
    if bound_builtin(obj) or issubclass(t, _METHOD_TYPES):
        return "wrapper", obj, binding, False
    if (
        callable(obj)
        and _safe_getattr(obj, "__wrapped__") is not _MISSING
        and not boundary.is_user_type(t)  # a user class's instance is a value
    ):
        return "wrapper", obj, binding, False
    return "constant", obj, binding, False


def _named(kind: str, obj: object, binding: str) -> _Kind:
    key = canonical_key(obj)
    return (kind, obj, key, True) if key else (kind, obj, binding, False)


def bound_builtin(obj: object) -> bool:
    """``re.compile("x").split``, ``RATES.get``: a builtin method bound to a value."""
    if type(obj) not in _BUILTIN_METHOD_TYPES:
        return False
    owner = getattr(obj, "__self__", None)  # a C field of these two types
    return owner is not None and not issubclass(type(owner), types.ModuleType)


def _external_callable(obj: object) -> bool:
    """Function-like objects of libraries that are importable by their name (``np.sqrt``): the
    name stands for them. (``np.vectorize(f)`` is not: it is a value, with ``f`` in it.)"""
    if not callable(obj):
        return False
    name, module = static_attribute(obj, "__name__"), static_attribute(obj, "__module__")
    if not (isinstance(name, str) and isinstance(module, str)):
        return False
    return _safe_getattr(sys.modules.get(module), name) is obj


def _unwrap(obj: object) -> object:
    """What an object stands for: a staticmethod or a cached property its function."""
    t = type(obj)
    if issubclass(t, _STATIC_TYPES):
        return obj.__func__
    if issubclass(t, functools.cached_property):
        return obj.func
    return obj


def _module_name(obj: object) -> str:
    if issubclass(type(obj), types.ModuleType):
        return obj.__name__
    module = static_attribute(obj, "__module__")
    return module if isinstance(module, str) and module else type(obj).__module__ or "builtins"


def _external_key(obj: object) -> str:
    """Third-party or standard-library code: named precisely, never walked into."""
    if issubclass(type(obj), types.ModuleType):
        return f"external:{obj.__name__}"
    qualname = (
        static_attribute(obj, "__qualname__")
        or static_attribute(obj, "__name__")
        or type(obj).__qualname__
    )
    return f"external:{_module_name(obj)}.{qualname}"


def is_code(obj: object) -> bool:
    return (
        issubclass(type(obj), _CODE_TYPES)
        or _unwrap(obj) is not obj
        or callable(defines(type(obj), "__skipwise_node__"))
        or (callable(obj) and _safe_getattr(obj, "__wrapped__") is not _MISSING)
        or bound_builtin(obj)
        or _external_callable(obj)
    )


def _is_member_code(value: object) -> bool:
    return issubclass(type(value), _MEMBER_CODE_TYPES)


# Type tuples, built once: a union written inside isinstance() is rebuilt on every call.
_CODE_TYPES = (types.FunctionType, type, types.ModuleType, functools.partial, types.MethodType)
_CODE_TYPES += (types.BuiltinFunctionType, staticmethod, classmethod, property)
_CODE_TYPES += (functools.cached_property,)
_MEMBER_CODE_TYPES = (types.FunctionType, staticmethod, classmethod, property)
_MEMBER_CODE_TYPES += (functools.cached_property, functools.partialmethod)
_PARTIAL_TYPES = (functools.partial, functools.partialmethod)
_METHOD_TYPES = (types.MethodType, property)
_BUILTIN_METHOD_TYPES = (types.BuiltinMethodType, types.MethodWrapperType)
_STATIC_TYPES = (staticmethod, classmethod)


def _frozen(value: object, depth: int = 0) -> bool:
    """Whether a value cannot change without being replaced (so identity checks suffice)."""
    if depth > 20:
        return False
    if value is None or type(value) in _FROZEN_TYPES or is_code(value):
        return True
    if type(value) in (tuple, frozenset):
        return all(_frozen(v, depth + 1) for v in value)  # type: ignore[attr-defined]
    import enum

    return issubclass(type(value), enum.Enum)


_FROZEN_TYPES = {bool, int, float, complex, str, bytes, range}


def _safe_getattr(obj: object, name: str) -> Any:
    """An attribute as stored: never computed by the object's code (see skipwise.attributes)."""
    return static_attribute(obj, name, _MISSING)


def _short_repr(obj: object, limit: int = 2000) -> str:
    if computes_attributes(type(obj)):  # its repr would reach its attribute hooks
        return f"<{type(obj).__qualname__}>"
    try:
        text = repr(obj)
    except Exception:
        return f"<{type(obj).__qualname__}>"
    if " at 0x" in text:
        return f"<{type(obj).__qualname__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- processing one object ---------------------------------------------------------------


def _process(
    boundary: Boundary, key: str, kind: str, obj: Any, resolved: dict | None = None
) -> _Entry:
    builder = _Builder(boundary, key, resolved)
    return getattr(builder, "klass" if kind == "class" else kind)(obj)


class _Builder:
    """Processes one object into an :class:`_Entry`, recording what it read."""

    def __init__(self, boundary: Boundary, key: str, resolved: dict | None = None):
        self.boundary = boundary
        self.key = key
        self.resolved = resolved  # name chains resolved in this pass (see ``chain``)
        self.children: list[_Child] = []
        self.checks: list[Check] = []
        self.covers: list[dict | Check] = []  # what a stamp watches for ``checks``
        self.lookups: list[tuple[dict, str, object]] = []
        self.warnings: list[str] = []
        self.words: set[str] = set()

    def _lookup(self, scope: dict, name: str) -> object:
        value = scope.get(name, _MISSING)
        self.lookups.append((scope, name, value))
        return value

    def _check(self, check: Check, *watched: dict | None) -> None:
        """Add a check; a stamp covers it by the versions of ``watched`` (when given and all
        dictionaries), else runs it."""
        self.checks.append(check)
        if watched and all(type(d) is dict for d in watched):
            self.covers += watched  # type: ignore[arg-type]
        else:
            self.covers.append(check)

    def _attribute(self, owner: object, name: str) -> object:
        value = _safe_getattr(owner, name)
        check = lambda: _safe_getattr(owner, name) is value  # noqa: E731
        if type(owner) in _IMMUTABLE_HOLDERS:
            self.checks.append(check)  # read-only attributes: nothing to watch
        else:
            self._check(check, _owner_namespace(owner))
        return value

    def chain(
        self,
        scope: dict,
        chain: tuple[str, ...],
        module_name: str,
        label: str | None = None,
        state: bool | str = False,
    ):
        """Resolve ``a.b.c`` through modules; the object reached becomes a child, labelled
        ``label`` (by default the chain). Within a pass the functions of a module resolve the
        same names alike, so resolutions are shared."""
        if self.resolved is None:
            return self._resolve(scope, chain, module_name, label, state)
        memo_key = (id(scope), chain, module_name, label, state)
        hit = self.resolved.get(memo_key)
        if hit is not None and hit[0] is scope:
            self.children += hit[1]
            self.checks += hit[2]
            self.lookups += hit[3]
            self.covers += hit[4]
            return
        children, checks, lookups = len(self.children), len(self.checks), len(self.lookups)
        covers = len(self.covers)
        self._resolve(scope, chain, module_name, label, state)
        self.resolved[memo_key] = (
            scope,
            self.children[children:],
            self.checks[checks:],
            self.lookups[lookups:],
            self.covers[covers:],
        )

    def _resolve(
        self, scope: dict, chain: tuple[str, ...], module_name: str, label: str | None, state
    ):
        label = label or ".".join(chain)
        name = chain[0]
        obj = self._lookup(scope, name)
        if obj is _MISSING or name in _MODULE_FACTS:
            if obj is _MISSING and hasattr(builtins, name):
                return  # builtins are outside every signature
            self._marker("unbound" if obj is _MISSING else "module-fact", label, module_name, name)
            return
        owner, owner_scope = module_name, scope
        for attr in chain[1:]:
            if not issubclass(type(obj), types.ModuleType) or not self.boundary.is_user_module(
                obj.__name__
            ):
                break
            if attr in _MODULE_FACTS:  # ``tools.__file__``: where that module lives, as above
                self._marker("module-fact", label, obj.__name__, attr)
                return
            if attr == "__dict__":  # ``tools.__dict__[name]``: all of the module, as vars()
                break
            nxt = self._attribute(obj, attr)
            if nxt is _MISSING:
                if "__getattr__" not in vars(obj):  # not there (checked): its absence counts
                    self._marker("unbound", label, obj.__name__, attr)
                    return
                break  # the module computes it (PEP 562): all of the module counts
            owner, owner_scope, name, obj = obj.__name__, vars(obj), attr, nxt
        binding = f"{module_label(owner)}:{name}"
        written = self._written(obj, owner_scope, name, state if len(chain) <= 2 else False)
        self.children.append(_Child(label, obj, binding, written))

    def _written(self, obj: object, scope: dict, name: str, use: bool | str) -> bool:
        """Whether user code writes this global at run time: a container it fills, or a name a
        function assigns (``global x``). Then it is state, hashed by what import time put there.
        ``use`` says how the code at hand uses it: True if it also writes it, "blind" if it
        only writes it."""
        if type(obj) in STATE_TYPES:
            return use == "blind" or _writes.current(self.boundary).is_state(obj, bool(use))
        return _writes.current(self.boundary).rebound(scope, name) and not is_code(obj)

    def _marker(self, kind: str, label: str, module_name: str, name: str) -> None:
        key = f"{kind}:{module_label(module_name)}:{name}"
        self.children.append(_Child(label, _markers.setdefault(key, _Marker(key)), key))

    def values(
        self, value: object, label: str, words: set[str] | None = None
    ) -> tuple[str, list[str]]:
        """Digest of a value; code inside it becomes children (stood for by their path).
        ``words`` collects the names its strings mention (``"{r.amount}"``, ``"total"``)."""

        def code_ref(obj: object, path: str) -> str | None:
            if not is_code(obj) or self._is_user_instance(obj):
                return None
            self.children.append(_Child(f"{label}:{path.removeprefix(self.key)}", obj, path))
            return path

        hasher = ValueHasher(
            strict=False, code_ref=code_ref, is_user_type=self.boundary.is_user_type, words=words
        )
        children = len(self.children)
        try:
            return hasher.digest(value, self.key), hasher.opaque
        except Unhashable:
            # Too deep or recursive (an engine, a connection pool): not hashable by value, so
            # opaque, as what cannot be reduced (and what it held so far does not count).
            del self.children[children:]
            type_name = qualified_type_name(type(value))
            return digest_fields("opaque", type_name), [type_name]

    def _is_user_instance(self, obj: object) -> bool:
        """An instance of a user class is a value (its class's code and its state), even when
        it is callable or wraps a function (a class-based decorator)."""
        return not issubclass(type(obj), type) and self.boundary.is_user_type(type(obj))

    def _rebuilder(self, kind: str, obj: object) -> Callable[[], _Entry]:
        """Processes ``obj`` again (a mutable value, every pass); holds nothing of this pass."""
        return functools.partial(_process, self.boundary, self.key, kind, obj)

    def entry(self, kind: str, digest: str, **more: Any) -> _Entry:
        more["warnings"] = (*more.get("warnings", ()), *self.warnings)
        watched: dict[int, dict] = {}
        volatile: list[Check] = []
        for scope, name, value in self.lookups:
            if type(scope) is dict:
                watched[id(scope)] = scope
            else:  # a chain of scopes (a class body's names)
                volatile.append(functools.partial(_still_bound, scope, name, value))
        for cover in self.covers:
            if type(cover) is dict:
                watched[id(cover)] = cover
            else:
                volatile.append(cover)  # type: ignore[arg-type]
        return _Entry(
            kind,
            digest,
            tuple(self.children),
            checks=tuple(self.checks),
            lookups=tuple(self.lookups),
            watched=tuple(watched.values()),
            volatile=tuple(volatile),
            **more,
        )

    # --- kinds --------------------------------------------------------------------------

    def function(self, fn: types.FunctionType) -> _Entry:
        code, defaults, kwdefaults, closure = (
            fn.__code__,
            fn.__defaults__,
            fn.__kwdefaults__,
            fn.__closure__,
        )
        # Defaults by value, and attributes set on the function (by decorators, say).
        attributes = {k: v for k, v in vars(fn).items() if not k.startswith("__")}
        annotations = dict(fn.__annotations__)
        self._check(  # code and defaults: assigning them raises an audit event (watch.py)
            functools.partial(
                _function_holds, fn, code, defaults, kwdefaults, attributes, annotations
            ),
            vars(fn),
            fn.__annotations__,
        )
        facts = function_facts(code, fn.__globals__)
        module_name = fn.__globals__.get("__name__", fn.__module__)
        # `import m` in the body, then only `m.f`: follow m.f only; m loaded bare (passed on,
        # returned): the whole module.
        used_through_attributes: set[tuple[str, int]] = set()
        used_whole: set[tuple[str, int]] = set()
        for chain in facts.chains:
            if chain[0] == IMPORTED_MODULE:
                module, level, path = chain[1], int(chain[2]), chain[3:]
                (used_through_attributes if path else used_whole).add((module, level))
                imported = self._import_module(module, level, fn.__globals__)
                if imported is not None and path:
                    self.chain(vars(imported), path, imported.__name__, ".".join(chain))
                continue
            # A container the code only writes into (``CALLS.append(x)``) cannot change what
            # the code does: "blind", hashed by its statements even when a setter fills it.
            use = "blind" if chain[0] in facts.sets else chain[0] in facts.mutated
            self.chain(fn.__globals__, chain, module_name, None, use)
        for module, level, names in facts.imports:
            top = (module.partition(".")[0], level)
            if names or top in used_whole or top not in used_through_attributes:
                self._import(module, level, names, fn.__globals__)
        for name, cell in zip(code.co_freevars, closure or (), strict=True):
            value = _cell_contents(cell)
            self._check(lambda cell=cell, value=value: _cell_contents(cell) is value)
            if value is not _MISSING:
                state = name in facts.mutated and type(value) in STATE_TYPES
                self.children.append(_Child("closure:" + name, value, f"{self.key}/{name}", state))
        prefixes = self._dispatch(facts.dispatch, fn.__globals__, module_name)
        extra = (defaults or (), kwdefaults or {}, attributes)
        extra_digest = ""
        if defaults or kwdefaults or attributes:
            extra_digest, _ = self.values(extra, "default")
        parts = (facts.digest, extra_digest) if extra_digest else ()
        if annotations:
            parts = (facts.digest, extra_digest, self.annotations(annotations, fn.__globals__))
        mutable = bool(defaults or kwdefaults or attributes) and not _frozen(
            (*(defaults or ()), *(kwdefaults or {}).values(), *attributes.values())
        )
        where = f"in {self.key} ({facts.location.rpartition(':')[0]})"
        messages = tuple(
            f"skipwise cannot follow {what} {where}; "
            "declare what it reaches with depends_on=[...] or bump version="
            for what in facts.dynamic
        )
        reads = reads_of(fn, facts.attr_names)
        for read in reads.inputs:
            self.children.append(_Child("reads:" + read.key, read, read.key))
        messages += tuple(
            f"skipwise cannot follow {what} {where}; {ADVICE}" for what in reads.unfollowed
        )
        messages += self._accessors(fn, facts.attr_names)
        return self.entry(
            "function",
            digest_fields("function", *parts) if parts else facts.digest,
            text=functools.partial(function_source, code, fn.__globals__),
            location=facts.location,
            attr_names=facts.attr_names,
            prefixes=prefixes,
            warnings=messages,
            rebuild=self._rebuilder("function", fn) if mutable else None,
        )

    def annotations(self, annotations: dict[str, object], scope: dict) -> str:
        """Digest of annotations, which decorators, dataclasses, validation libraries and CLIs
        read at run time: evaluated ones by value (user classes in them are children), postponed
        ones (strings) by their text, the compiler's normalised source, with the names they
        would load resolved in ``scope``, where ``typing.get_type_hints`` resolves them."""
        digest, _ = self.values(annotations, "annotation")
        for chain in _source.annotation_chains(annotations.values()):
            self.chain(scope, chain, scope.get("__name__", ""), "annotation:" + ".".join(chain))
        return digest

    def _dispatch(
        self, dispatch: tuple[tuple[tuple[str, ...], str], ...], scope: dict, module_name: str
    ) -> tuple[str, ...]:
        """Names computed from a literal prefix (``getattr(self, f"_on_{kind}")``): looked up
        on a user module, its attributes with that prefix are children; on anything else,
        members with that prefix are reachable. Returns those prefixes."""
        prefixes = []
        for target, prefix in dispatch:
            module = self._dispatch_module(target, scope, module_name)
            if module is None:
                prefixes.append(prefix)
                continue
            namespace = vars(module)
            names = _prefixed(namespace, prefix)
            self._check(lambda ns=namespace, p=prefix, n=names: _prefixed(ns, p) == n, namespace)
            for name in names:
                self.chain(namespace, (name,), module.__name__, f"{prefix}*:{name}")
        return tuple(prefixes)

    def _dispatch_module(
        self, target: tuple[str, ...], scope: dict, module_name: str
    ) -> types.ModuleType | None:
        """The user module a computed name is looked up on, if it is one."""
        if target == _source.OWN_MODULE:
            obj: object = sys.modules.get(module_name)
        elif target:
            obj = scope.get(target[0])
            for attr in target[1:]:
                obj = _safe_getattr(obj, attr) if isinstance(obj, types.ModuleType) else None
        else:
            return None
        if isinstance(obj, types.ModuleType) and self.boundary.is_user_module(obj.__name__):
            return obj
        return None

    def _accessors(self, fn: types.FunctionType, names: frozenset[str]) -> tuple[str, ...]:
        """User classes registered as pandas accessors (``df.geo.area()``), found by the
        attribute names the function loads: included, and named in a warning, since an
        attribute name is all that links them."""
        messages = []
        for name, accessor in _pandas_accessors(self.boundary, names):
            self.children.append(_Child(f"accessor:{name}", accessor, f"{self.key}/{name}"))
            where = _source.attribute_lines(fn.__code__, fn.__globals__, name)
            messages.append(
                f"skipwise reaches {accessor.__module__}.{accessor.__qualname__}, registered "
                f"with pandas as the accessor .{name}, only by that name in {self.key} "
                f"({where}); if it is reached otherwise, declare it with depends_on=[...]"
            )
        return tuple(messages)

    def _import_module(self, module: str, level: int, scope: dict) -> types.ModuleType | None:
        try:
            absolute = importlib.util.resolve_name("." * level + module, scope.get("__package__"))
            imported = importlib.import_module(absolute)
        except Exception:
            return None  # the body's own import will fail the same way when it runs
        self._check(lambda: sys.modules.get(absolute) is imported, sys.modules)
        return imported

    def _import(self, module: str, level: int, names: tuple[str, ...], scope: dict) -> None:
        imported = self._import_module(module, level, scope)
        if imported is None:
            return
        absolute = imported.__name__
        if not names:  # the module as a whole (passed along, or used in ways not followed)
            self.children.append(_Child("import " + absolute, imported, absolute))
            return
        for name in names:
            if name not in vars(imported):  # `from . import sub` before sub was ever imported
                self._import_module(f"{absolute}.{name}", 0, {})
            self.chain(vars(imported), (name,), absolute, f"from {absolute} import {name}")

    def klass(self, cls: type) -> _Entry:
        """A class is what its body produced. Its members (methods and data attributes) are
        separate nodes, included when reachable; in a class deriving from a library class, also
        those the library can reach (see :func:`_library_facing`)."""
        bases, snapshot, meta = cls.__bases__, dict(vars(cls)), type(cls)
        self._check(  # bases and metaclass: assigning them raises an audit event (watch.py)
            lambda: (
                cls.__bases__ is bases and type(cls) is meta and _same_items(vars(cls), snapshot)
            ),
            _watch.namespace(cls),
        )
        for i, base in enumerate(bases):  # in order: it decides the method resolution order
            if base is not object:
                label = f"base[{i}]:{base.__qualname__}"
                self.children.append(_Child(label, base, f"{self.key}/base[{i}]"))
        if meta is not type:
            self.children.append(_Child("metaclass", meta, f"{self.key}/metaclass"))
        module_globals = vars(sys.modules[cls.__module__]) if cls.__module__ in sys.modules else {}
        # What the class says about itself: annotations (field types matter to dataclasses and
        # validation libraries) and plain-data dunders such as __match_args__ and __slots__.
        own = {"__annotations__": snapshot.get("__annotations__", {})}
        own |= {
            name: value
            for name, value in snapshot.items()
            if _dunder(name)
            and name not in _CLASS_MACHINERY
            and _frozen(value)
            and not is_code(value)
        }
        digest, _ = self.values(own, "attr")
        for chain in _source.annotation_chains(own["__annotations__"].values()):
            self.chain(module_globals, chain, cls.__module__, "annotation:" + ".".join(chain))
        keywords = self._class_keywords(cls, module_globals)
        written = _writes.current(self.boundary)
        src: Any = _MISSING  # read only for a member that code writes
        members = []
        for name, value in snapshot.items():
            if name in _CLASS_MACHINERY or (_dunder(name) and not _is_member_code(value)):
                continue
            state = not is_code(value) and written.attribute_written(cls, name)
            if state and src is _MISSING:
                src = _class_source(cls)
            if state and src is not None and not src.class_bindings(cls.__qualname__, name):
                continue  # set at run time (``cls._instance = ...``) where the body binds nothing
            members.append((name, value, state))
        library = [
            k for k in cls.__mro__[1:] if k is not object and not self.boundary.is_user_type(k)
        ]
        machinery = [k for k in meta.__mro__ if k not in (type, object)]
        machinery = [k for k in machinery if not self.boundary.is_user_type(k)]
        return self.entry(
            "class",
            digest_fields("class", digest, "open" if library else "closed", *keywords),
            text=lambda: class_source(cls),
            location=location_text(module_globals, None),
            members=tuple(members),
            library_facing=_library_facing(members, library, machinery, snapshot),
            rebuild=None
            if _frozen(tuple(own["__annotations__"].values()))
            else self._rebuilder("class", cls),
        )

    def _class_keywords(self, cls: type, module_globals: dict) -> tuple[str, ...]:
        """The keywords of a class statement (``class M(Base, frozen=True)``), with the names
        they read as children. The class keeps them nowhere: they go to the metaclass or an
        ``__init_subclass__``, so the source is read only for a class that has one of those."""
        takes_keywords = type(cls) is not type or any(
            "__init_subclass__" in vars(base) for base in cls.__mro__[1:-1]
        )
        module = sys.modules.get(cls.__module__)
        if not takes_keywords or module is None or not _source.unchanged_since_import(module):
            return ()
        definition = class_definition(cls)
        node = definition.node if definition else None
        keywords = [k for k in getattr(node, "keywords", ()) if k.arg != "metaclass"]
        for chain in sorted(_source.expression_chains(*keywords)):
            self.chain(module_globals, chain, cls.__module__, "keyword:" + ".".join(chain))
        return tuple(ast.dump(k, annotate_fields=False) for k in keywords)

    def module(self, module: types.ModuleType) -> _Entry:
        """A module used as a whole (passed around, declared in ``depends_on``): everything it
        binds."""
        snapshot = dict(vars(module))
        self._check(lambda: _same_items(vars(module), snapshot), vars(module))
        label = module_label(module.__name__)
        for name, value in snapshot.items():
            if not _dunder(name):
                self.children.append(_Child(name, value, f"{label}:{name}"))
        return self.entry("module", digest_fields("module", label))

    def partial(self, obj: functools.partial) -> _Entry:
        func, args, keywords = obj.func, obj.args, obj.keywords
        self._check(lambda: obj.func is func and obj.args is args and obj.keywords is keywords)
        self.children.append(_Child("func", func, f"{self.key}/func"))
        digest, _ = self.values((args, keywords), "arg")
        frozen = _frozen(args) and _frozen(tuple(keywords.values()))
        rebuild = None if frozen else self._rebuilder("partial", obj)
        return self.entry("partial", digest, rebuild=rebuild)

    def wrapper(self, obj: object) -> _Entry:
        if type(obj) is types.MethodType:
            names: tuple[str, ...] = ("__func__", "__self__")
        elif issubclass(type(obj), property):
            names = tuple(n for n in ("fget", "fset", "fdel") if getattr(obj, n) is not None)
        elif bound_builtin(obj):
            names = ("__self__",)
        else:
            # Also what the wrapper keeps beside the wrapped function (a dispatch registry).
            extra = vars(obj) if type(obj) is types.FunctionType else {}
            names = ("__wrapped__", *sorted(n for n in extra if not _dunder(n)))
        for name in names:
            self.children.append(_Child(name, self._attribute(obj, name), f"{self.key}/{name}"))
        name = static_attribute(obj, "__name__")
        parts = [f"{type(obj).__module__}.{type(obj).__qualname__}", str(name or "")]
        wrapped = _safe_getattr(obj, "__wrapped__")
        if type(wrapped) is types.FunctionType and not self.boundary.is_user_type(type(obj)):
            # A library wrapper (validation, say) may act on the annotations it wraps.
            parts.append(self.values(getattr(wrapped, "__annotations__", {}), "annotation")[0])
        return self.entry("wrapper", digest_fields("wrapper", *parts))

    def constant(self, obj: object) -> _Entry:
        # A str constant naming a place in the checkout is code's location, not its content.
        value = portable_text(obj) if type(obj) is str else obj
        found_in_value = len(self.children)
        digest, opaque = self.values(value, "value", self.words)
        source = ""  # the value's repr, read on demand (it may be slow, or the value's own code)
        if opaque:
            in_value = self.children[found_in_value:]
            del self.children[found_in_value:]
            statements = self._statements(obj)
            if statements is None:
                self.children += in_value
                self.warnings.append(
                    f"{self.key} holds {', '.join(sorted(set(opaque)))}, which skipwise cannot "
                    "hash by content; register a hasher or bump version= when it changes"
                )
            else:
                # The statements that made it stand for it (an engine, a pool): what the walk
                # met inside it (the library's bound methods, their locks) is not its code.
                statement_digest, source = statements
                digest = digest_fields("constant", digest, statement_digest)
        rebuild = None if _frozen(obj) else self._rebuilder("constant", obj)
        return self.entry(
            "constant",
            digest,
            source=source,
            text=None if source else functools.partial(_short_repr, obj),
            rebuild=rebuild,
            attr_names=frozenset(self.words),
        )

    def _statements(self, obj: object) -> tuple[str, str] | None:
        """The statements binding this key's name to ``obj`` (digest, text), with the names
        they use as children: at the top level of a module, or in a class body for a class
        attribute; None when there are none or the file changed since import. A name imported
        from another user module (``from db import ENGINE``, relative, re-exported by a package,
        imported again and again) is followed to the module that binds it."""
        label, _, name = self.key.removesuffix(_STATE_SUFFIX).partition(":")
        module = module_named(label)
        if module is None or "/" in name:
            return None
        owner, _, attribute = name.rpartition(".")
        if owner:
            return self._class_statements(module, owner, attribute)
        found = self._binding_module(module, name, obj)
        if found is None:
            return None
        module, name, src, statements = found
        module_globals = vars(module)
        statement_digest, text, chains = src.statements_digest(statements)
        for chain in sorted(chains):
            if chain[0] != name:
                self.chain(module_globals, chain, module.__name__, "=" + ".".join(chain))
        return statement_digest, text

    def _class_statements(
        self, module: types.ModuleType, owner: str, name: str
    ) -> tuple[str, str] | None:
        """A class attribute's statements in its class body; their names resolve as the body's
        do (the class's namespace, then the module's)."""
        if not _source.unchanged_since_import(module):
            return None
        module_globals = vars(module)
        cls = resolve(module_globals, tuple(owner.split(".")))
        src = _class_source(cls) if isinstance(cls, type) else None
        statements = src.class_bindings(cls.__qualname__, name) if src else []  # type: ignore[union-attr]
        if not statements:
            return None
        statement_digest, text, chains = src.statements_digest(statements)  # type: ignore[union-attr]
        scope = collections.ChainMap(vars(cls), module_globals)  # type: ignore[arg-type]
        for chain in sorted(chains):
            if chain[0] != name:
                self.chain(scope, chain, module.__name__, "=" + ".".join(chain))  # type: ignore[arg-type]
        return statement_digest, text

    def _binding_module(
        self, module: types.ModuleType, name: str, obj: object
    ) -> tuple[types.ModuleType, str, _source.ModuleSource, list[ast.stmt]] | None:
        """The user module whose statements bind ``obj`` to a name, following imports from
        ``module``'s ``name``; None when no statement can be found or a file on the way changed
        since import."""
        seen: set[tuple[str, str]] = set()
        while (module.__name__, name) not in seen:
            seen.add((module.__name__, name))
            if not _source.unchanged_since_import(module):
                return None
            src = _source.module_source(getattr(module, "__file__", None), vars(module))
            if src is None:
                return None
            statements = src.bindings(name)
            if statements:
                return module, name, src, statements
            origin = self._imported_from(module, src.imports_of(name), obj)
            if origin is None:
                return None
            module, name = origin
        return None

    def _imported_from(
        self, module: types.ModuleType, imports: list[tuple[str, int, str]], obj: object
    ) -> tuple[types.ModuleType, str] | None:
        """Of the ``from M import X`` statements that may bind a name, the last whose user
        module ``M`` holds ``obj`` as ``X``: the import that bound it."""
        for source, level, original in reversed(imports):
            try:
                absolute = importlib.util.resolve_name(
                    "." * level + source, vars(module).get("__package__")
                )
            except (ImportError, ValueError):
                continue
            origin = sys.modules.get(absolute)
            if (
                origin is not None
                and self.boundary.is_user_module(absolute)
                and vars(origin).get(original, _MISSING) is obj
            ):
                return origin, original
        return None

    def state(self, obj: object) -> _Entry:
        """What user code writes at run time (a memo, a registry, ``global _client``, a class
        attribute set on first use): not its current value, but what import time put there
        (see :mod:`skipwise.writes`). Without source, its value when first seen (not for a closure cell)."""
        t = type(obj)
        self._check(lambda: type(obj) is t)
        parts: list[str] = []  # not the type: code may assign a dict where import left None
        texts: list[str] = []
        complete = False
        if t in STATE_TYPES:
            written = _writes.current(self.boundary)
            modules = written.modules
            self._check(lambda: _writes.loaded() == modules)  # a new module may seed it
            seeds, complete = written.seeds(obj)
            for module, stmt in seeds:
                self._seed(obj, module, stmt)
                parts += [module_label(module.__name__), stmt.digest]
                texts.append(stmt.text)
            complete = complete and bool(seeds)
            self._unsourced_code(obj, written.unsourced())
        if not complete or "." in self.key.partition(":")[2]:
            statements = self._statements(obj)
            if statements is not None:
                parts.append(statements[0])
                texts.append(statements[1])
                complete = True
        if not complete and "/" not in self.key:  # a closure's cell: made by code run later
            parts.append(self.values(obj, "value")[0])
        return self.entry("state", digest_fields("state", *parts), source="".join(texts))

    def _unsourced_code(self, obj: Any, modules: set[str]) -> None:
        """Functions and classes in the container that modules without source defined (a
        notebook registering a handler): no statement tells of them, so they count as found."""
        if not modules:
            return
        items = [*obj.keys(), *obj.values()] if isinstance(obj, dict) else list(obj)
        found = {}
        for item in items:
            if is_code(item) and getattr(item, "__module__", None) in modules:
                name = f"{module_label(item.__module__)}:{getattr(item, '__qualname__', '?')}"
                found[name] = item
        for name in sorted(found):
            self.children.append(_Child(f"={name}", found[name], f"{self.key}/{name}"))

    def _seed(self, obj: object, module: types.ModuleType, stmt: _source.TopStatement) -> None:
        """What an import-time statement that fills ``obj`` reads (a registered function, the
        values it puts in) become children; not what it writes (the container, an accumulator
        of a loop, the loop's variables), which it produces rather than reads."""
        scope, label = vars(module), module_label(module.__name__)
        for chain in sorted(stmt.reads):
            if chain[0] in stmt.binds or any(
                chain[:n] in stmt.receivers or resolve(scope, chain[:n]) is obj
                for n in range(1, len(chain) + 1)
            ):
                continue
            self.chain(scope, chain, module.__name__, f"={label}:{'.'.join(chain)}")
        if stmt.defines:
            defined = self._lookup(scope, stmt.defines)
            if defined is not _MISSING:
                binding = f"{label}:{stmt.defines}"
                self.children.append(_Child(f"={binding}", defined, binding))

    def input(self, obj: Input) -> _Entry:
        """A file or environment variable: hashed again every pass, since it changes without
        any code changing (a file's digest is remembered while its stat stamp holds)."""
        return self.entry(
            obj.kind, obj.digest(), text=obj.describe, rebuild=self._rebuilder(obj.kind, obj)
        )

    file = env = input

    def marker(self, obj: _Marker) -> _Entry:
        return self.entry(obj.key.partition(":")[0], "")

    def cached(self, obj: Any) -> _Entry:
        """A cached function called by another: its code, declared dependencies and version."""
        fn, version, declared = obj.__skipwise_node__()
        self.children.append(_Child("fn", fn, f"{self.key}/fn"))
        for i, dependency in enumerate(declared):
            self.children.append(
                _Child(f"depends_on[{i}]", dependency, f"{self.key}/depends_on[{i}]")
            )
        return self.entry("cached", digest_fields("cached", str(version)))


def _library_facing(
    members: list[tuple[str, object, bool]],
    library: list[type],
    machinery: list[type],
    namespace: dict[str, object],
) -> frozenset[str]:
    """Members of a class deriving from ``library`` classes (built by ``machinery``, their
    metaclasses) that count whether or not user code names them: data (an enum's members, a
    model's fields and config: the library reads the class body), anything but a method as
    written (a validator, a computed field, a method a decorator marked), a member the library
    defines too (``default``, ``model_post_init``: the library calls its own names), a member
    that the library's machinery recorded in the class's ``namespace`` (pydantic's
    ``__pydantic_decorators__`` names its validators), and a member whose name begins with a
    string in the library's code (``"visit_" + kind``)."""
    if not library:
        return frozenset()
    defined = _recorded_names(v for k, v in namespace.items() if _dunder(k))
    prefixes: set[str] = set()
    for klass in library:
        defined.update(vars(klass))
        prefixes |= _library_words(klass)
    for klass in machinery:
        prefixes |= _library_words(klass)
    starts = tuple(prefixes)
    return frozenset(
        name
        for name, value, _ in members
        if not _plain_method(value) or name in defined or name.startswith(starts)
    )


_RECORDED_NODES = 20_000  # what a library's records are read to, at most
_SEQUENCES = (list, tuple, set, frozenset)


def _recorded_names(records: Iterable[object]) -> set[str]:
    """Identifiers held in what a library stored on a class (dict keys, strings, function
    names), read as stored, breadth first and bounded."""
    names: set[str] = set()
    queue, seen = deque(records), set()
    while queue and len(seen) < _RECORDED_NODES:
        value = queue.popleft()
        if id(value) in seen:
            continue
        seen.add(id(value))
        t = type(value)
        if t is str:
            if value.isidentifier():
                names.add(value)
        elif issubclass(t, dict):
            queue.extend(dict.keys(value))
            queue.extend(dict.values(value))
        elif issubclass(t, _SEQUENCES):
            queue.extend(next(b for b in _SEQUENCES if issubclass(t, b)).__iter__(value))
        elif t is types.FunctionType:
            names.add(value.__name__)
        elif not issubclass(t, type) and t.__module__ != "builtins":
            queue.append(instance_state(value))
    return names


@functools.lru_cache(maxsize=1024)
def _library_words(klass: type) -> frozenset[str]:
    """The leading words of the strings in a library class's own methods."""
    words: set[str] = set()
    for value in vars(klass).values():
        for fn in _functions_of(value):
            words |= leading_words(fn.__code__)
    return frozenset(words)


def _functions_of(value: object) -> tuple[types.FunctionType, ...]:
    if type(value) is types.FunctionType:
        return (value,)
    if type(value) in (staticmethod, classmethod):
        return _functions_of(value.__func__)
    if type(value) is property:
        return tuple(
            f for f in (value.fget, value.fset, value.fdel) if type(f) is types.FunctionType
        )
    return ()


def _plain_method(value: object) -> bool:
    """A method as written: a function that no decorator replaced, wrapped or marked."""
    if type(value) is types.FunctionType:
        return not vars(value)
    if type(value) in (staticmethod, classmethod):
        return _plain_method(value.__func__)
    if type(value) is property:
        return all(f is None or _plain_method(f) for f in (value.fget, value.fset, value.fdel))
    if type(value) is functools.cached_property:
        return _plain_method(value.func)
    return False


def _pandas_accessors(boundary: Boundary, names: frozenset[str]) -> list[tuple[str, type]]:
    """(name, class) of user classes registered on pandas objects under one of ``names``."""
    pandas = sys.modules.get("pandas")
    found: dict[str, type] = {}
    for owner in (getattr(pandas, n, None) for n in ("DataFrame", "Series", "Index")):
        for name in sorted(names & getattr(owner, "_accessors", set())):
            accessor = getattr(inspect.getattr_static(owner, name, None), "_accessor", None)
            if isinstance(accessor, type) and boundary.is_user_type(accessor):
                found[name] = accessor
    return sorted(found.items())


def _class_source(cls: type) -> _source.ModuleSource | None:
    """The parsed file that defines ``cls``, if it is the code that ran."""
    module = sys.modules.get(cls.__module__)
    if module is None or not _source.unchanged_since_import(module):
        return None
    src = _source.module_source(getattr(module, "__file__", None), vars(module))
    return src if src is not None and src.definition(cls.__qualname__, None) else None


def _function_holds(
    fn: types.FunctionType,
    code: types.CodeType,
    defaults,
    kwdefaults,
    attributes: dict,
    annotations: dict,
) -> bool:
    return (
        fn.__code__ is code
        and fn.__defaults__ is defaults
        and fn.__kwdefaults__ is kwdefaults
        and _same_items(vars(fn), attributes, skip_dunder=True)
        and (
            _same_items(fn.__annotations__, annotations) if annotations else not fn.__annotations__
        )
    )


# Objects whose attributes the walker reads (``_attribute``) but which cannot be reassigned.
_IMMUTABLE_HOLDERS = frozenset({types.MethodType, property, types.BuiltinMethodType})


def _owner_namespace(owner: object) -> dict | None:
    """The dictionary an attribute read from ``owner`` comes from, when that is all it can
    come from (a module's globals, a function's attributes); else None."""
    if type(owner) is types.FunctionType or issubclass(type(owner), types.ModuleType):
        found = vars(owner)
        return found if type(found) is dict and "__getattr__" not in found else None
    return None


def _still_bound(scope: Any, name: str, value: object) -> bool:
    return scope.get(name, _MISSING) is value


def _prefixed(namespace: dict, prefix: str) -> tuple[str, ...]:
    return tuple(sorted(name for name in namespace if name.startswith(prefix)))


def _cell_contents(cell: types.CellType) -> object:
    try:
        return cell.cell_contents
    except ValueError:
        return _MISSING


def _same_items(current: Any, snapshot: dict[str, object], skip_dunder: bool = False) -> bool:
    if skip_dunder:
        current = {k: v for k, v in current.items() if not k.startswith("__")}
    if len(current) != len(snapshot):
        return False
    return all(current.get(k, _MISSING) is v for k, v in snapshot.items())
