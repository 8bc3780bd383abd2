"""What every step shares: signing (code graphs, argument digests), lineage of results in this
process, references to stored results (``Ref``) and what a call did (``Outcome``).

The step itself (sign, resolve, complete) is :mod:`skipwise.step`; ``skipwise.cached`` is a thin
wrapper over it (:mod:`skipwise.cached`).
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
import types
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from skipwise import config
from skipwise.boundary import module_label
from skipwise.codegraph import CodeGraph
from skipwise.deferred import is_lazy, loaded
from skipwise.errors import ArgumentError, SkipwiseError, SkipwiseWarning
from skipwise.inputs import Env, File
from skipwise.status import Status
from skipwise.store import CorruptEntry, Manifest, Store
from skipwise.tree import ArgumentRecord, Change, SignatureTree
from skipwise.values import Unhashable, ValueHasher, qualified_type_name
from skipwise.walker import Walker, bound_builtin, is_code

R = TypeVar("R")


@dataclass(frozen=True)
class Lineage:
    """Where a result came from: the signature it was stored under and the checksum of its
    stored content ("" when unknown: not stored, or the store could not say)."""

    signature: str
    checksum: str = ""
    item: str | int | None = None  # one part of the result (``Ref.item``), or all of it

    @property
    def key(self) -> str:
        """What a downstream signature hashes for this input: its content when known, so a
        recompute with identical output does not rerun what consumes it (early cutoff), and a
        recompute with different output (forced, or under the same signature after damage)
        always does. Else the signature, which only ever causes a rerun, never a stale hit.
        A part is keyed by the whole result and its place in it: it changes whenever the part
        may have."""
        key = f"content:{self.checksum}" if self.checksum else f"signature:{self.signature}"
        return key if self.item is None else f"{key}[{self.item!r}]"


@dataclass(frozen=True)
class Ref:
    """A stored result, by signature: signed by its lineage (the content checksum in its
    manifest: one manifest read), loaded only if the callee runs. With ``item``, one part of
    it: ``value[item]`` (a key of a dict result, an index of a tuple)."""

    signature: str
    store: Store | None = None
    item: str | int | None = None

    def _store(self) -> Store:
        return self.store or config.current_store()

    def load(self) -> Any:
        """The value. A damaged entry is removed before the error is raised, so the step that
        produces it recomputes on its next run instead of being served (and failing every
        consumer) forever."""
        store = self._store()
        manifest = store.manifest(self.signature)
        if manifest is None:
            raise LookupError(f"no stored result {self.signature} in {store.url}")
        refuse_pickle(manifest)  # not damage: the entry stays
        try:
            value = store.load(manifest)
        except CorruptEntry as exc:
            if writes_refused(store):
                raise
            store.delete(self.signature)
            raise CorruptEntry(
                f"{exc}; the entry was removed: the next run of {manifest.name} recomputes it"
            ) from exc
        if self.item is None:
            return value
        try:
            return value[self.item]
        except (LookupError, TypeError):
            raise LookupError(
                f"stored result {self.signature} of {manifest.name} has no item {self.item!r}"
            ) from None

    def table(self) -> Any | None:
        """The SQL table the whole result is kept in (``Store.sql_table``), or None."""
        if self.item is not None:
            return None
        store = self._store()
        manifest = store.manifest(self.signature)
        return None if manifest is None else store.sql_table(manifest)

    def lineage(self) -> Lineage:
        try:
            manifest = self._store().manifest(self.signature)
        except SkipwiseError:  # unreadable: sign by signature, which can only cause a rerun
            return Lineage(self.signature, item=self.item)
        return Lineage(self.signature, manifest.checksum if manifest else "", self.item)


@dataclass(frozen=True)
class Outcome(Generic[R]):
    """What a cached call did."""

    value: R  # None on a hit that was not loaded (hosts pass results by reference)
    signature: str
    status: Status  # REUSED or COMPUTED
    reason: str
    manifest: Manifest  # of the stored result; on ``stored=False``, a record of the call
    tree: SignatureTree
    changes: tuple[Change, ...] = ()  # on a miss: what differs from the name's previous result
    stored: bool = True  # False: computed, but the store did not keep it (read-only, down)

    @property
    def picture_status(self) -> Status:
        """How pictures colour the step: reused, changed since the previous result, or new."""
        if self.status is Status.REUSED:
            return Status.REUSE
        return Status.CHANGED if self.changes else Status.NEW


# --- lineage: results remember the signature they were stored under -----------------------

_lineage: dict[int, tuple[weakref.ref, Lineage]] = {}
# Lists, dicts, sets and tuples cannot be weakly referenced: keep the latest ones strongly (the
# reference pins the id, so it cannot be reused). Scalars are shared objects and never tagged.
_container_lineage: OrderedDict[int, tuple[object, Lineage]] = OrderedDict()
_CONTAINER_LINEAGE_LIMIT = 4096
_lineage_lock = threading.Lock()


def remember(value: object, outcome: Outcome[Any]) -> None:
    """Tag ``value`` as ``outcome``'s result, for calls it is passed to in this process."""
    lineage = Lineage(outcome.signature, outcome.manifest.checksum if outcome.stored else "")
    key = id(value)

    def forget(ref: weakref.ref, key: int = key) -> None:
        with _lineage_lock:
            if key in _lineage and _lineage[key][0] is ref:
                del _lineage[key]

    try:
        ref = weakref.ref(value, forget)
    except TypeError:
        if type(value) in (list, dict, set, tuple) and len(value):  # type: ignore[arg-type]
            with _lineage_lock:
                _container_lineage[key] = (value, lineage)
                _container_lineage.move_to_end(key)
                while len(_container_lineage) > _CONTAINER_LINEAGE_LIMIT:
                    _container_lineage.popitem(last=False)
        return
    with _lineage_lock:
        _lineage[key] = (ref, lineage)


def lineage_of(obj: object) -> Lineage | None:
    """Where ``obj`` came from, if a cached call returned it in this process (or it is a
    ``Ref``).

    Results must not be mutated in place (the contract of ``functools.lru_cache`` too).
    """
    if issubclass(type(obj), Ref):  # by type: asking the object may run its code
        return obj.lineage()
    entry = _lineage.get(id(obj))
    if entry is not None and entry[0]() is obj:
        return entry[1]
    held = _container_lineage.get(id(obj))
    if held is not None and held[0] is obj:
        return held[1]
    return None


# --- code and argument digests ------------------------------------------------------------


_signing_pass: contextvars.ContextVar[Walker | None] = contextvars.ContextVar(
    "skipwise_signing_pass", default=None
)


@contextlib.contextmanager
def signing_pass() -> Iterator[None]:
    """Within this block, code graphs share their analysis: a plan, a DAG, a batch."""
    token = _signing_pass.set(Walker(config.boundary()))
    try:
        yield
    finally:
        _signing_pass.reset(token)


def code_graph(
    obj: Callable[..., Any],
    *,
    warn_dynamic: bool = True,
    depends_on: Iterable[object] = (),
    all_members: bool = False,
) -> CodeGraph:
    """The code graph of a function (or class, partial, cached function).

    ``depends_on`` adds what the analysis cannot see: functions, modules, values, ``File``s.
    ``all_members`` counts every member of a class (an argument's class).
    """
    node = getattr(type(obj), "__skipwise_node__", None)
    fn = node(obj)[0] if callable(node) else obj  # a cached function: its plain function
    binding = _root_key(fn)
    walker = _signing_pass.get() or Walker(config.boundary())
    return walker.graph(fn, binding, tuple(depends_on), warn_dynamic, all_members)


def _root_key(fn: object) -> str:
    """``module:qualname``: the node's own name when that path leads back to ``fn`` (the
    walker checks), else where the root comes from."""
    module = getattr(fn, "__module__", None) or "?"
    qualname = getattr(fn, "__qualname__", None) or type(fn).__qualname__
    return f"{module_label(module)}:{qualname}"


def _argument_code_ref(obj: object, path: str) -> str | None:
    if not is_code(obj):
        return None
    module = getattr(obj, "__module__", None)
    if isinstance(obj, types.ModuleType):
        module = obj.__name__
    if not config.boundary().is_user_module(module) and not bound_builtin(obj):
        name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
        return f"external:{module}.{name or type(obj).__qualname__}"
    return code_graph(obj, warn_dynamic=False, all_members=isinstance(obj, type)).digest


def argument_record(value: object, param: str, owner: str) -> ArgumentRecord:
    upstream: list[str] = []

    def lineage_key(obj: object) -> str | None:
        """Results of other steps are hashed by their lineage key (see ``Lineage.key``) and
        listed as upstream by signature (plan's edges)."""
        found = lineage_of(obj)
        if found is None:
            return None
        upstream.append(found.signature)
        return found.key

    hasher = ValueHasher(
        strict=True,
        code_ref=_argument_code_ref,
        is_user_type=config.boundary().is_user_type,
        lineage=lineage_key,
        path_content=True,
    )
    try:
        digest = hasher.digest(value, param)
    except Unhashable as exc:
        where = "" if exc.path == param else f" (at {exc.path})"
        leave_out = f"leave it out of the signature with ignore=[{param!r}]"
        if " " in exc.type_name:  # a shape (too deep, recursive), not a type to teach
            advice = f"Pass a flatter value, or {leave_out}"
        else:
            advice = (
                "Register a content hasher with skipwise.register_hasher(TYPE, fn), pass files "
                f"as skipwise.File(path), or {leave_out}"
            )
        raise ArgumentError(
            f"{owner}: cannot hash argument {param!r} of type {exc.type_name}{where}. {advice}"
        ) from None
    return ArgumentRecord(qualified_type_name(type(value)), digest, tuple(upstream))


def latest_tree(store: Store, name: str, instance: str | None = None) -> SignatureTree | None:
    """The signature tree of the latest result stored under ``name`` in ``instance`` (None:
    the current instance)."""
    pointer = store.pointer(name, config.instance_name() if instance is None else instance)
    if pointer is None:
        return None
    try:
        manifest = store.manifest(pointer.signature)
    except CorruptEntry:
        return None
    raw = store.tree(manifest) if manifest else None
    return SignatureTree.from_dict(raw) if raw else None


def writes_refused(store: Store) -> bool:
    """Whether this process may not write to ``store`` (the store's or the process's setting)."""
    return store.read_only or config.read_only()


def load_checked(store: Store, manifest: Manifest, pickle_allowed: bool | None = None) -> Any:
    """The value, unless it is a pickle this process may not load (a CorruptEntry, so a step
    recomputes rather than unpickling untrusted data)."""
    refuse_pickle(manifest, pickle_allowed)
    return store.load(manifest)


def refuse_pickle(manifest: Manifest, pickle_allowed: bool | None = None) -> None:
    allowed = config.allow_pickle() if pickle_allowed is None else pickle_allowed
    if manifest.codec == "pickle" and not allowed:
        raise CorruptEntry(
            f"entry {manifest.signature} is pickled and pickle loading is not allowed"
        )


def resolve_refs(value: Any) -> Any:
    """An argument with its ``Ref``s and lazy results loaded, also inside lists, tuples and
    dicts: a body gets the values themselves."""
    if is_lazy(value):
        return loaded(value)
    if isinstance(value, Ref):
        return value.load()
    if type(value) in (list, tuple):
        return type(value)(resolve_refs(v) for v in value)
    if type(value) is dict:
        return {k: resolve_refs(v) for k, v in value.items()}
    return value


def load(value: Any) -> Any:
    """The value itself: a lazy result (what a hit returns) read now if it was not, a ``Ref``
    loaded from its store; anything else as it is. For code that needs the object rather
    than a stand-in (``x is y``, ``type(x)``, libraries that check the exact type)."""
    if is_lazy(value):
        return loaded(value)
    if issubclass(type(value), Ref):
        return value.load()
    return value


def warn(message: str) -> None:
    import warnings

    warnings.warn(message, SkipwiseWarning, stacklevel=4)


_warned: set[str] = set()


def warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        warn(message)


__all__ = [
    "Env",
    "File",
    "Lineage",
    "Outcome",
    "Ref",
    "code_graph",
    "latest_tree",
    "lineage_of",
    "load",
    "signing_pass",
]
