"""Cached calls: compute the signature, serve a stored result or run and store one."""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import logging
import re
import threading
import types
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal, ParamSpec, TypeVar, overload

from skipwise import config
from skipwise.boundary import module_label
from skipwise.codegraph import CodeGraph
from skipwise.errors import SkipwiseWarning, StoreError
from skipwise.store import CorruptEntry, Manifest, Store, validate_name
from skipwise.store.base import producer_info, unsaved_manifest
from skipwise.store.codecs import choose_codec
from skipwise.tree import ArgumentRecord, Change, SignatureTree, diff, summarize
from skipwise.values import File, Unhashable, ValueHasher, qualified_type_name
from skipwise.walker import Walker, bound_builtin, is_code

P = ParamSpec("P")
R = TypeVar("R")

log = logging.getLogger("skipwise")

# Integrations say who is producing results (DAG/task/run, asset/run); kept in manifests.
producer_context: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar(
    "skipwise_producer_context", default=None
)


@dataclass(frozen=True)
class Ref:
    """A stored result, by signature: hashed as that signature, loaded only if the callee runs."""

    signature: str
    store: Store | None = None

    def load(self) -> Any:
        store = self.store or config.current_store()
        manifest = store.manifest(self.signature)
        if manifest is None:
            raise LookupError(f"no stored result {self.signature} in {store.url}")
        return _load_checked(store, manifest)


@dataclass(frozen=True)
class Outcome(Generic[R]):
    """What a cached call did."""

    value: R
    signature: str
    status: Literal["reused", "computed"]
    reason: str
    manifest: Manifest
    tree: SignatureTree
    changes: tuple[Change, ...] = ()  # on a miss: what differs from the name's previous result


# --- lineage: results remember the signature they were stored under -----------------------

_lineage: dict[int, tuple[weakref.ref, str]] = {}
# Lists, dicts, sets and tuples cannot be weakly referenced: keep the latest ones strongly (the
# reference pins the id, so it cannot be reused). Scalars are shared objects and never tagged.
_container_lineage: OrderedDict[int, tuple[object, str]] = OrderedDict()
_CONTAINER_LINEAGE_LIMIT = 4096
_lineage_lock = threading.Lock()


def _remember(value: object, signature: str) -> None:
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
                _container_lineage[key] = (value, signature)
                _container_lineage.move_to_end(key)
                while len(_container_lineage) > _CONTAINER_LINEAGE_LIMIT:
                    _container_lineage.popitem(last=False)
        return
    with _lineage_lock:
        _lineage[key] = (ref, signature)


def lineage_of(obj: object) -> str | None:
    """The signature a cached call returned ``obj`` under, if it did in this process.

    Results must not be mutated in place (the contract of ``functools.lru_cache`` too).
    """
    if isinstance(obj, Ref):
        return obj.signature
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
    fn = obj.fn if isinstance(obj, Cached) else obj
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


def _argument_record(value: object, param: str, owner: str) -> ArgumentRecord:
    hasher = ValueHasher(
        strict=True,
        code_ref=_argument_code_ref,
        is_user_type=config.boundary().is_user_type,
        lineage=lineage_of,
    )
    try:
        digest = hasher.digest(value, param)
    except Unhashable as exc:
        where = "" if exc.path == param else f" (at {exc.path})"
        raise TypeError(
            f"{owner}: cannot hash argument {param!r} of type {exc.type_name}{where}. "
            "Register a content hasher with skipwise.register_hasher(TYPE, fn), pass files as "
            f"skipwise.File(path), or leave it out of the signature with ignore=[{param!r}]"
        ) from None
    return ArgumentRecord(qualified_type_name(type(value)), digest, tuple(hasher.lineages))


# --- the cached function ------------------------------------------------------------------

_INVALID_NAME_CHARS = re.compile(r"[^A-Za-z0-9_.\-]+")


def default_name(fn: Callable[..., Any]) -> str:
    module = module_label(getattr(fn, "__module__", None) or "main")
    qualname = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", "function")
    return _INVALID_NAME_CHARS.sub("_", f"{module}.{qualname}").strip("._-") or "function"


class Cached(Generic[P, R]):
    """A function whose results are stored by signature and reused while it is unchanged."""

    def __init__(
        self,
        fn: Callable[P, R],
        *,
        name: str | None = None,
        version: str | int | None = None,
        ignore: Iterable[str] = (),
        codec: str | None = None,
        depends_on: Iterable[object] = (),
        allow_pickle: bool | None = None,
        store: Store | None = None,
    ):
        if not callable(fn):
            raise TypeError(f"skipwise.cached needs a function, got {fn!r}")
        self.fn = fn
        self.name = validate_name(name if name is not None else default_name(fn))
        self.version = "" if version is None else str(version)
        self.codec = codec
        self.depends_on = tuple(depends_on)
        self.allow_pickle = allow_pickle
        self.store = store
        self._signature = inspect.signature(fn)
        self.ignore = frozenset(ignore)
        unknown = self.ignore - set(self._signature.parameters)
        if unknown:
            raise ValueError(f"{self.name}: ignore= names no parameter: {sorted(unknown)}")
        functools.update_wrapper(self, fn)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return f"<skipwise.cached {self.name}>"

    def __skipwise_node__(self) -> tuple[Callable[..., Any], str, tuple[object, ...]]:
        """What another function's signature covers when it calls this one."""
        return self.fn, self.version, self.depends_on

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self.run(*args, **kwargs).value

    def _store(self) -> Store:
        return self.store or config.current_store()

    def _pickle_allowed(self) -> bool:
        return self.allow_pickle if self.allow_pickle is not None else config.allow_pickle()

    def code(self) -> CodeGraph:
        """The code graph, extended by ``depends_on``."""
        declared = bool(self.version) or bool(self.depends_on)
        return code_graph(self.fn, warn_dynamic=not declared, depends_on=self.depends_on)

    def tree(self, *args: P.args, **kwargs: P.kwargs) -> SignatureTree:
        """The signature tree this call would have; nothing runs, nothing is read."""
        return self.tree_for(args, kwargs)

    def tree_for(
        self,
        args: tuple[Any, ...],
        kwargs: Mapping[str, Any],
        extra: Mapping[str, str] | None = None,
    ) -> SignatureTree:
        """Like :meth:`tree`; ``extra`` adds host facts such as a partition key."""
        try:
            bound = self._signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{self.name}: {exc}") from None
        bound.apply_defaults()
        records: dict[str, ArgumentRecord] = {}
        for param, value in bound.arguments.items():
            if param in self.ignore:
                continue
            kind = self._signature.parameters[param].kind
            if kind is inspect.Parameter.VAR_KEYWORD:
                value = dict(sorted(value.items()))
            records[param] = _argument_record(value, param, self.name)
        return SignatureTree.build(self.name, self.code(), records, self.version, extra)

    def signature(self, *args: P.args, **kwargs: P.kwargs) -> str:
        return self.tree(*args, **kwargs).signature

    def run(self, *args: P.args, **kwargs: P.kwargs) -> Outcome[R]:
        """Call, and say what happened: reused or computed, and why."""
        return self.execute(self.tree_for(args, kwargs), args, kwargs)

    def execute(
        self,
        tree: SignatureTree,
        args: tuple[Any, ...],
        kwargs: Mapping[str, Any],
        *,
        load: bool = True,
    ) -> Outcome[R]:
        """Serve ``tree``'s result from the store, or run the function with these arguments.

        ``load=False`` is for hosts that pass results by reference (an orchestrator): on a hit
        nothing is read but the manifest, and the outcome's value is None.
        """
        signature = tree.signature
        replace = False
        try:
            store = self._store()
            try:
                manifest = store.manifest(signature)
                if manifest is not None:
                    value = None
                    if load:
                        value = _load_checked(store, manifest, self._pickle_allowed())
                        _remember(value, signature)
                    self._advance_pointer(store, signature)
                    log.info(
                        "reused %s %s (computed %s by %s)",
                        self.name,
                        signature[:12],
                        manifest.created_at,
                        manifest.producer_text(),
                    )
                    return Outcome(value, signature, "reused", "unchanged", manifest, tree)
            except CorruptEntry as exc:
                _warn(f"{exc} in store {store.url}; recomputing {self.name}")
                replace = True
            reason, changes = self.why(tree, store)
        except StoreError as exc:
            _store_trouble(exc)
            value = self._compute(args, kwargs)
            return Outcome(
                value,
                signature,
                "computed",
                f"store unusable: {exc}",
                self._unsaved(signature),
                tree,
            )
        log.info("computing %s %s: %s", self.name, signature[:12], reason)
        value = self._compute(args, kwargs)
        if not self._is_an_input(value, args, kwargs):  # an input keeps its own identity
            _remember(value, signature)
        if _read_only(store):
            _warn_once(f"store {store.url} is read-only: computed results are not stored")
            unsaved = self._unsaved(signature)
            return Outcome(value, signature, "computed", reason, unsaved, tree, changes)
        codec = choose_codec(value, self.codec, self._pickle_allowed(), f"result of {self.name}")
        try:
            manifest = store.save(
                signature,
                value,
                codec=codec.name,
                name=self.name,
                tree=tree.to_dict(),
                producer=producer_info(producer_context.get()),
                replace=replace,
            )
        except StoreError as exc:
            _store_trouble(exc)
            unsaved = self._unsaved(signature)
            return Outcome(value, signature, "computed", reason, unsaved, tree, changes)
        self._advance_pointer(store, signature)
        return Outcome(value, signature, "computed", reason, manifest, tree, changes)

    def _is_an_input(self, value: object, args: tuple[Any, ...], kwargs: Mapping[str, Any]):
        bound = self._signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return any(value is v for v in bound.arguments.values())

    def _compute(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> R:
        return self.fn(*map(_resolve_ref, args), **{k: _resolve_ref(v) for k, v in kwargs.items()})

    def _unsaved(self, signature: str) -> Manifest:
        return unsaved_manifest(signature, self.name, "", producer_info(producer_context.get()))

    def why(self, tree: SignatureTree, store: Store) -> tuple[str, tuple[Change, ...]]:
        """Why ``tree`` has no stored result: what changed since this name's latest one, as a
        one-line reason and the changes themselves."""
        previous = latest_tree(store, self.name)
        if previous is None:
            return "new: no earlier result under this name", ()
        if previous.signature == tree.signature:
            return "stored result was unusable", ()
        changes = tuple(diff(previous, tree))
        return summarize(list(changes)), changes

    def _advance_pointer(self, store: Store, signature: str) -> None:
        memo_key = (store.url, self.name)
        if _pointer_memo.get(memo_key) == signature or _read_only(store):
            return
        try:
            current = store.pointer(self.name)
            if current is None or current.signature != signature:
                store.set_pointer(self.name, signature)
        except StoreError as exc:
            _store_trouble(exc)
            return
        _pointer_memo[memo_key] = signature


_pointer_memo: dict[tuple[str, str], str] = {}


def latest_tree(store: Store, name: str) -> SignatureTree | None:
    """The signature tree of the latest result stored under ``name``."""
    pointer = store.pointer(name)
    if pointer is None:
        return None
    try:
        manifest = store.manifest(pointer.signature)
    except CorruptEntry:
        return None
    raw = store.tree(manifest) if manifest else None
    return SignatureTree.from_dict(raw) if raw else None


def _load_checked(store: Store, manifest: Manifest, pickle_allowed: bool | None = None) -> Any:
    if manifest.codec == "pickle" and not (
        config.allow_pickle() if pickle_allowed is None else pickle_allowed
    ):
        raise CorruptEntry(
            f"entry {manifest.signature} is pickled and pickle loading is not allowed"
        )
    return store.load(manifest)


def _read_only(store: Store) -> bool:
    return store.read_only or config.read_only()


def _store_trouble(exc: StoreError) -> None:
    """Raise ``exc`` unless ``on_store_error="compute"``: then warn once and go on uncached."""
    if config.on_store_error() != "compute":
        raise exc
    _warn_once(f"{exc}; computing without caching (on_store_error='compute')")


_warned: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        _warn(message)


def _resolve_ref(value: Any) -> Any:
    """An argument with its ``Ref``s loaded, also inside lists, tuples and dicts."""
    if isinstance(value, Ref):
        return value.load()
    if type(value) in (list, tuple):
        return type(value)(_resolve_ref(v) for v in value)
    if type(value) is dict:
        return {k: _resolve_ref(v) for k, v in value.items()}
    return value


def _warn(message: str) -> None:
    import warnings

    warnings.warn(message, SkipwiseWarning, stacklevel=4)


# --- public entry points ------------------------------------------------------------------


@overload
def cached(fn: Callable[P, R], /) -> Cached[P, R]: ...
@overload
def cached(
    fn: None = None,
    /,
    *,
    name: str | None = None,
    version: str | int | None = None,
    ignore: Iterable[str] = (),
    codec: str | None = None,
    depends_on: Iterable[object] = (),
    allow_pickle: bool | None = None,
    store: Store | None = None,
) -> Callable[[Callable[P, R]], Cached[P, R]]: ...


def cached(fn=None, /, **options):
    """Store ``fn``'s results by signature and reuse them while code and inputs are unchanged.

    Use as ``@cached``, ``@cached(name=..., version=...)`` or ``cached(fn)(*args)``.
    """
    if fn is None:
        return lambda f: Cached(f, **options)
    return Cached(fn, **options)


def signature(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> str:
    """The signature ``fn(*args, **kwargs)`` would be stored under; nothing runs."""
    target = fn if isinstance(fn, Cached) else Cached(fn)
    return target.signature(*args, **kwargs)


__all__ = ["Cached", "File", "Outcome", "Ref", "cached", "code_graph", "lineage_of", "signature"]
