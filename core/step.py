"""One step of a pipeline, as every host runs it: sign, resolve, complete.

``skipwise.cached``, the Airflow operator, the Dagster asset and the Dagster IO manager all go
through :class:`Step`, so a call is signed, looked up, computed and stored the same way
whichever host runs it::

    step = Step(fn, StepOptions(name="shop.report"))
    tree = step.sign(args, kwargs, host_facts)     # nothing runs, nothing is read
    decision = step.resolve(tree)                  # a hit (its manifest) or a miss (why)
    outcome = step.complete(decision, body)        # body runs on a miss only

Hosts pass who is producing the result (``producer=``) to :meth:`Step.complete`; it is kept in
the manifest.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from skipwise import config, deferred, input_types, lazy
from skipwise import force as forcing
from skipwise import fresh as freshness
from skipwise.boundary import module_label
from skipwise.codegraph import CodeGraph
from skipwise.engine import (
    Outcome,
    Ref,
    argument_record,
    code_graph,
    latest_tree,
    lineage_of,
    load_checked,
    resolve_refs,
    warn,
    warn_once,
    writes_refused,
)
from skipwise.errors import CodecError, StoreError
from skipwise.status import Reason, Status
from skipwise.store import CorruptEntry, Manifest, Store, validate_name
from skipwise.store.base import producer_info, unsaved_manifest
from skipwise.store.codecs import choose_codec
from skipwise.tree import ArgumentRecord, Change, SignatureTree, diff, summarize

R = TypeVar("R")

log = logging.getLogger("skipwise")

_INVALID_NAME_CHARS = re.compile(r"[^A-Za-z0-9_.\-]+")


def default_name(fn: Callable[..., Any]) -> str:
    """``module.qualname`` with characters a result name may not hold replaced."""
    module = module_label(getattr(fn, "__module__", None) or "main")
    qualname = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", "function")
    return _INVALID_NAME_CHARS.sub("_", f"{module}.{qualname}").strip("._-") or "function"


@dataclass(frozen=True)
class StepOptions:
    """Everything a step is told besides its function: how to sign and how to store.

    ``name`` lists results in the store (default ``module.qualname``); ``version`` is a manual
    bump; ``ignore`` leaves parameters out of the signature; ``depends_on`` adds what the
    analysis cannot see (functions, modules, values, ``File``s); ``codec`` and
    ``allow_pickle`` choose how results are encoded; ``store`` overrides the configured one;
    ``on_lease_held`` overrides the configured policy while another caller computes the same
    signature ("wait", "compute", "fail"); ``lazy`` makes the function build a SQL query that
    the store runs on a miss (:mod:`skipwise.lazy`); ``input_type`` is the table type the body
    receives its inputs as (:mod:`skipwise.input_types`); ``fresh`` tells how fresh the
    external sources the body reads are (:mod:`skipwise.fresh`).
    """

    name: str | None = None
    version: str | int | None = None
    ignore: tuple[str, ...] = ()
    codec: str | None = None
    depends_on: tuple[object, ...] = ()
    allow_pickle: bool | None = None
    store: Store | None = None
    on_lease_held: str | None = None
    lazy: bool = False
    input_type: object = None
    fresh: object = None

    def __post_init__(self) -> None:
        # Accept any iterable, keep tuples: options are compared and shared between copies.
        object.__setattr__(self, "ignore", tuple(self.ignore))
        object.__setattr__(self, "depends_on", tuple(self.depends_on))
        if self.on_lease_held is not None:
            config.lease_policy(self.on_lease_held)

    @classmethod
    def take(cls, kwargs: dict[str, Any], *, leave: Iterable[str] = ()) -> StepOptions:
        """The options among a host's keyword arguments, removed from ``kwargs`` so the rest
        go to the host; names in ``leave`` stay (a Dagster asset's ``name`` is Dagster's)."""
        names = [f.name for f in dataclasses.fields(cls) if f.name not in set(leave)]
        return cls(**{name: kwargs.pop(name) for name in names if name in kwargs})

    @classmethod
    def of(cls, owner: str, **options: Any) -> StepOptions:
        """Options given by keyword; an unknown one is a TypeError naming ``owner``."""
        given = dict(options)
        taken = cls.take(given)
        if given:
            known = ", ".join(f.name for f in dataclasses.fields(cls))
            raise TypeError(f"{owner}: unknown option(s) {sorted(given)}; options are {known}")
        return taken


@dataclass(frozen=True)
class Decision:
    """What :meth:`Step.resolve` found: a stored result to serve, or why the body must run."""

    tree: SignatureTree
    store: Store | None  # None: the store could not be opened (``error`` says why)
    status: Status  # REUSED: ``manifest`` is the hit; COMPUTED: the body must run
    reason: str
    manifest: Manifest | None = None
    changes: tuple[Change, ...] = ()  # on a miss: what differs from the name's latest result
    replace: bool = False  # the stored entry is corrupt: the new result replaces it
    error: StoreError | None = None  # the store is unusable: compute, store nothing

    @property
    def hit(self) -> bool:
        return self.manifest is not None


def _parameters(fn: Callable[..., Any], name: str) -> inspect.Signature:
    """The parameters calls are bound to: the wrapped function's, as ``inspect`` reports them,
    or the wrapper's own when the wrapped one has none to report (``functools.wraps(dict.keys)``
    around a plain function, as jinja2's ``Context.keys`` is)."""
    try:
        return inspect.signature(fn)
    except ValueError:
        try:
            return inspect.signature(fn, follow_wrapped=False)
        except ValueError as exc:
            raise TypeError(f"skipwise cannot read the parameters of {name}: {exc}") from None


class Step(Generic[R]):
    """A function and its options, immutable: what a host runs under skipwise."""

    __slots__ = ("_params", "fn", "fresh", "input_kind", "name", "options", "version")

    def __init__(self, fn: Callable[..., R], options: StepOptions | None = None) -> None:
        if not callable(fn):
            raise TypeError(f"skipwise needs a function, got {fn!r}")
        options = options or StepOptions()
        self.fn = fn
        self.options = options
        self.name = validate_name(options.name if options.name is not None else default_name(fn))
        self.version = "" if options.version is None else str(options.version)
        self._params = _parameters(fn, self.name)
        unknown = set(options.ignore) - set(self._params.parameters)
        if unknown:
            raise ValueError(f"{self.name}: ignore= names no parameter: {sorted(unknown)}")
        self.fresh = freshness.named(options.fresh, self.name)
        self.input_kind = (
            None
            if options.input_type is None
            else input_types.kind_of(options.input_type, self.name)
        )

    def __setattr__(self, key: str, value: object) -> None:
        if hasattr(self, key):
            raise AttributeError(f"Step is immutable; use replace({key}=...)")
        object.__setattr__(self, key, value)

    def __repr__(self) -> str:
        return f"<skipwise.Step {self.name}>"

    def replace(self, **changes: Any) -> Step[R]:
        """This step with some options changed (e.g. a per-partition ``name``)."""
        return Step(self.fn, dataclasses.replace(self.options, **changes))

    @classmethod
    def for_value(cls, name: str, *, store: Store | None = None) -> Step[Any]:
        """A step whose only input is a value: it signs the value by content. For results
        that skipwise did not compute (a plain Dagster asset's output)."""
        return cls(stored_value, StepOptions(name=name, store=store))

    # --- signing --------------------------------------------------------------------

    def code(self) -> CodeGraph:
        """The code graph, extended by ``depends_on``."""
        options = self.options
        declared = bool(self.version) or bool(options.depends_on)
        return code_graph(self.fn, warn_dynamic=not declared, depends_on=options.depends_on)

    def sign(
        self,
        args: tuple[Any, ...] = (),
        kwargs: Mapping[str, Any] | None = None,
        host_facts: Mapping[str, str] | None = None,
        *,
        query: bool = True,
    ) -> SignatureTree:
        """The signature tree of this call; nothing runs, nothing is read. ``host_facts``
        add what the host knows about the call (e.g. ``PARTITION``).

        A lazy step is the exception: its body runs here, with upstream results as tables
        (their manifests are read), and the SQL it returns is signed. ``query=False`` signs
        it without (for a plan whose upstream is not stored yet): that tree never matches a
        stored result."""
        records: dict[str, ArgumentRecord] = {}
        ignore = self.options.ignore
        for param, value in self.bind(args, kwargs).items():
            if param in ignore:
                continue
            if self._params.parameters[param].kind is inspect.Parameter.VAR_KEYWORD:
                value = dict(sorted(value.items()))
            records[param] = argument_record(value, param, self.name)
        extra = {**(host_facts or {}), **self.fresh_facts()}
        if self.input_kind is not None:  # the body gets other objects: it may compute otherwise
            extra[INPUT_TYPE] = self.input_kind
        if not (self.options.lazy and query):
            return SignatureTree.build(self.name, self.code(), records, self.version, extra)
        # A lazy step's body runs now: the query it builds is part of what the step is.
        prepared = lazy.prepare(self.name, self.fn, self._bound(args, kwargs), self.store())
        extra[lazy.SQL] = prepared.signed
        tree = SignatureTree.build(self.name, self.code(), records, self.version, extra)
        return dataclasses.replace(tree, query=prepared.query)

    def fresh_facts(self) -> dict[str, str]:
        """What the fresh functions say now, as signature parts (:mod:`skipwise.fresh`): they
        run, nothing else does."""
        return freshness.evaluate(
            self.fresh,
            self.name,
            lambda value, label: argument_record(value, label, self.name).digest,
        )

    def derive(
        self, args: tuple[Any, ...], kwargs: Mapping[str, Any] | None
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """The call's arguments as the current instance derives them for this step (its
        ``derive`` for this name, e.g. a smaller ``limit`` for ``mini``); unchanged in an
        instance that derives nothing here. A host derives once, then signs and runs with
        the result, so what runs is what is signed."""
        current = config.instance()
        given, named = list(args), dict(kwargs or {})
        if current is None or self.name not in current.derive:
            return tuple(given), named
        params = self._params.parameters
        positional = [
            name
            for name, param in params.items()
            if param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD)
        ]
        # Replaced where the caller gave them: positionally, else by keyword.
        for name, value in current.arguments(self.name, self.bind(args, kwargs)).items():
            kind = params[name].kind
            if kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
                raise TypeError(
                    f"instance {current.key}: derive for {self.name} cannot replace *{name}"
                )
            place = positional.index(name) if name in positional else len(given)
            if place < len(given):
                given[place] = value
            elif kind is inspect.Parameter.POSITIONAL_ONLY:
                raise TypeError(
                    f"instance {current.key}: derive for {self.name} cannot replace "
                    f"positional-only {name!r}, which this call does not pass"
                )
            else:
                named[name] = value
        return tuple(given), named

    def takes(self, parameter: str) -> bool:
        return parameter in self._params.parameters

    def bind(self, args: tuple[Any, ...], kwargs: Mapping[str, Any] | None) -> dict[str, Any]:
        """The call's arguments by parameter, defaults applied."""
        return self._bound(args, kwargs).arguments

    def _bound(
        self, args: tuple[Any, ...], kwargs: Mapping[str, Any] | None
    ) -> inspect.BoundArguments:
        try:
            bound = self._params.bind(*args, **(kwargs or {}))
        except TypeError as exc:
            raise TypeError(f"{self.name}: {exc}") from None
        bound.apply_defaults()
        return bound

    # --- resolving ------------------------------------------------------------------

    def store(self) -> Store:
        return self.options.store or config.current_store()

    def resolve(self, tree: SignatureTree, *, force: bool = False) -> Decision:
        """Look ``tree`` up: a hit, or a miss with why (what changed since the latest result
        under this name). Only the manifest is read. ``force`` (or ``$SKIPWISE_FORCE`` naming
        this step) makes it a miss whose result replaces the stored one."""
        try:
            store = self.store()
            if force or forcing.by_environment(self.name):
                return Decision(tree, store, Status.COMPUTED, Reason.FORCED, replace=True)
            manifest = store.manifest(tree.signature)
        except CorruptEntry as exc:
            warn(f"{exc} in store {store.url}; recomputing {self.name}")
            return self._miss(tree, store, replace=True)
        except StoreError as exc:
            return self._unusable(tree, exc)
        if manifest is None:
            return self._miss(tree, store)
        return Decision(tree, store, Status.REUSED, Reason.UNCHANGED, manifest)

    def why(self, tree: SignatureTree, store: Store) -> tuple[str, tuple[Change, ...]]:
        """Why ``tree`` has no stored result: a one-line reason and the changes since this
        name's latest result."""
        previous = latest_tree(store, self.name)
        if previous is None:
            return Reason.NEW, ()
        if previous.signature == tree.signature:
            return Reason.UNUSABLE, ()
        changes = tuple(diff(previous, tree))
        return summarize(list(changes)), changes

    def _miss(self, tree: SignatureTree, store: Store, *, replace: bool = False) -> Decision:
        try:
            reason, changes = self.why(tree, store)
        except StoreError as exc:
            return self._unusable(tree, exc)
        return Decision(tree, store, Status.COMPUTED, reason, None, changes, replace)

    def _unusable(self, tree: SignatureTree, error: StoreError) -> Decision:
        """The store cannot be used: compute and store nothing (or raise, see ``_tolerate``)."""
        _tolerate(error)
        return Decision(tree, None, Status.COMPUTED, Reason.store_unusable(error), error=error)

    # --- completing -----------------------------------------------------------------

    def complete(
        self,
        decision: Decision,
        body: Callable[[], R],
        *,
        load: bool = True,
        producer: Mapping[str, str] | None = None,
    ) -> Outcome[R]:
        """Serve the hit, or run ``body`` and store its result.

        ``load=False`` is for hosts that pass results by reference: on a hit nothing is read
        but the manifest, and the outcome's value is None. A hit whose data turns out to be
        damaged is recomputed and replaced. ``producer`` says who computes (DAG/task/run,
        asset/run); it is kept in the manifest. A lazy step's body already ran when it was
        signed: on a miss the store runs the query it built, and the value is a ``Ref`` to
        the new table (on a hit too: nothing is loaded).
        """
        if decision.hit:
            served = self._try_serve(decision, load)
            if isinstance(served, Outcome):
                return served
            decision = served
        return self._compute(decision, body, load, producer)

    def materialize(self, decision: Decision, body: Callable[[], R]) -> Outcome[R]:
        """The value of a hit that :meth:`complete` served without it (``load=False``), read
        now; as there, an entry found damaged is recomputed and replaced."""
        served = self._try_serve(decision, True, announce=False)
        if isinstance(served, Outcome):
            return served
        return self._compute(served, body, True, None)

    def _try_serve(
        self, decision: Decision, load: bool, *, announce: bool = True
    ) -> Outcome[R] | Decision:
        """Serve a hit; if its entry turns out damaged (recomputed and replaced) or the store
        fails, the decision to compute instead."""
        store = decision.store
        assert store is not None  # a hit came from a store
        try:
            return self._serve(decision, load, announce)
        except CorruptEntry as exc:
            warn(f"{exc} in store {store.url}; recomputing {self.name}")
            return self._miss(decision.tree, store, replace=True)
        except StoreError as exc:
            return self._unusable(decision.tree, exc)

    def call(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> R:
        """Run the function with its arguments as the body receives them (:meth:`inputs`)."""
        loaded_args, loaded_kwargs = self.inputs(args, kwargs)
        return self.fn(*loaded_args, **loaded_kwargs)

    def inputs(
        self, args: tuple[Any, ...], kwargs: Mapping[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """The arguments as the body receives them: ``Ref``s loaded and, with ``input_type``,
        every table among them as that type (a ``sa.Table`` for a result stored as one)."""
        kind = self.input_kind
        if kind is None:
            return load_refs(args, kwargs)
        names = list(self._params.parameters)

        def prepare(value: Any, param: str) -> Any:
            where = f"{self.name}: input {param!r}"
            return input_types.prepare(value, kind, _loaded, self._stored_table, where)

        loaded = tuple(
            prepare(value, names[min(i, len(names) - 1)] if names else str(i))
            for i, value in enumerate(args)
        )
        return loaded, {key: prepare(value, key) for key, value in kwargs.items()}

    def _stored_table(self, value: Any) -> Any | None:
        """The SQL table ``value`` is stored in: a ``Ref``, or a result of this process."""
        if not isinstance(value, Ref):
            found = lineage_of(value)
            if found is None or found.item is not None:
                return None
            value = Ref(found.signature, self.store())
        return value.table()

    def run(
        self,
        args: tuple[Any, ...] = (),
        kwargs: Mapping[str, Any] | None = None,
        *,
        host_facts: Mapping[str, str] | None = None,
        load: bool = True,
        producer: Mapping[str, str] | None = None,
    ) -> Outcome[R]:
        """Sign, resolve and complete a call of the function itself."""
        kwargs = kwargs or {}
        decision = self.resolve(self.sign(args, kwargs, host_facts))
        return self.complete(
            decision, lambda: self.call(args, kwargs), load=load, producer=producer
        )

    def _serve(self, decision: Decision, load: bool, announce: bool = True) -> Outcome[R]:
        store, manifest, tree = decision.store, decision.manifest, decision.tree
        assert store is not None and manifest is not None
        if self.options.lazy:
            value: Any = Ref(tree.signature, store)
        else:
            value = load_checked(store, manifest, self._pickle_allowed()) if load else None
        self._advance_pointer(store, tree.signature)
        if announce:
            self._announce(manifest, tree)
        return Outcome(value, tree.signature, Status.REUSED, decision.reason, manifest, tree)  # type: ignore[arg-type]

    def _announce(self, manifest: Manifest, tree: SignatureTree) -> None:
        log.info(
            "reused %s %s (computed %s by %s)",
            self.name,
            tree.signature[:12],
            manifest.created_at,
            manifest.producer_text(),
        )

    def _compute(
        self,
        decision: Decision,
        body: Callable[[], R],
        load: bool,
        producer: Mapping[str, str] | None,
    ) -> Outcome[R]:
        """Run ``body`` under the signature's lease, so concurrent callers compute it once:
        whoever gets the lease after another committed the result is served that result."""
        tree, store = decision.tree, decision.store
        if store is None or writes_refused(store):  # nothing will be stored: no lease
            return self._run(decision, body, producer)
        try:
            seen = _entry(store, tree.signature) if decision.replace else None
            lease = store.lease(
                tree.signature,
                holder=producer_info(producer),
                policy=config.lease_policy(self.options.on_lease_held),
                ttl=config.lease_ttl(),
                what=self.name,
            )
        except StoreError as exc:
            return self._run(self._unusable(tree, exc), body, producer)
        with lease or contextlib.nullcontext():
            try:
                fresh = _entry(store, tree.signature)
            except StoreError:  # storing will say so, with the value in hand
                fresh = None
            if fresh is not None and fresh != seen:  # committed meanwhile
                reason = Reason.concurrent(fresh.producer_text())
                served = self._try_serve(Decision(tree, store, Status.REUSED, reason, fresh), load)
                if isinstance(served, Outcome):
                    return served
                decision = served
            return self._run(decision, body, producer)

    def _run(
        self, decision: Decision, body: Callable[[], R], producer: Mapping[str, str] | None
    ) -> Outcome[R]:
        """Run ``body`` and store its value. Work done is never thrown away: a value the store
        does not take (read-only, unusable, or failing after retries) is returned, with a
        warning."""
        tree, store = decision.tree, decision.store
        if tree.query is not None:
            return self._run_query(decision, producer)
        if store is None:
            return self._unstored(body(), decision, producer)
        log.info("computing %s %s: %s", self.name, tree.signature[:12], decision.reason)
        value = body()
        if writes_refused(store):
            warn_once(f"store {store.url} is read-only: computed results are not stored")
            return self._unstored(value, decision, producer)
        try:
            codec = choose_codec(
                value, self.options.codec, self._pickle_allowed(), f"result of {self.name}"
            )
            manifest = store.save(
                tree.signature,
                value,
                codec=codec.name,
                name=self.name,
                tree={**tree.to_dict(), **_result_shape(value)},
                producer=producer_info(producer),
                replace=decision.replace,
            )
        except (StoreError, CodecError) as exc:
            warn(f"{exc}; the result of {self.name} is returned but not stored")
            return self._unstored(value, decision, producer)
        return self._committed(value, decision, manifest)

    def _committed(self, value: Any, decision: Decision, manifest: Manifest) -> Outcome[R]:
        """A computed result the store kept: the name's pointer moves to it."""
        assert decision.store is not None
        self._advance_pointer(decision.store, decision.tree.signature)
        return Outcome(
            value,
            decision.tree.signature,
            Status.COMPUTED,
            decision.reason,
            manifest,
            decision.tree,
            decision.changes,
        )

    def _run_query(self, decision: Decision, producer: Mapping[str, str] | None) -> Outcome[R]:
        """Run a lazy step's query in the store: its table and manifest are one transaction.
        There is no value to hand back if the store cannot take it, so that is an error."""
        tree, store = decision.tree, decision.store
        if store is None:
            raise decision.error or StoreError(f"{self.name}: no store to run its query in")
        if writes_refused(store):
            raise StoreError(
                f"{self.name}: a lazy step's query makes its table in the store, and store "
                f"{store.url} is read-only"
            )
        log.info(
            "computing %s %s in the database: %s", self.name, tree.signature[:12], decision.reason
        )
        manifest = store.save_query(
            tree.signature,
            tree.query,
            name=self.name,
            tree={**tree.to_dict(), **_result_shape(None)},
            producer=producer_info(producer),
            replace=decision.replace,
        )
        return self._committed(Ref(tree.signature, store), decision, manifest)

    def _unstored(
        self, value: R, decision: Decision, producer: Mapping[str, str] | None
    ) -> Outcome[R]:
        tree = decision.tree
        record = unsaved_manifest(tree.signature, self.name, "", producer_info(producer))
        return Outcome(
            value,
            tree.signature,
            Status.COMPUTED,
            decision.reason,
            record,
            tree,
            decision.changes,
            stored=False,
        )

    def result_keys(self, outcome: Outcome[Any], *, lists: bool = False) -> list[str | int] | None:
        """Where the result's parts are, for hosts that pass each part on by reference: a
        dict's keys (all strings) or a tuple's indices, and with ``lists`` a list's indices too
        (what a host maps over); None for any other result. On a hit they are read from the
        stored tree, not from the data (loaded only for an entry stored without them)."""
        if outcome.status is Status.COMPUTED:
            shape = _result_shape(outcome.value)
        else:
            store = self.store()
            shape = store.tree(outcome.manifest) or {}
            recorded = (RESULT_KEYS, RESULT_LENGTH) if lists else (RESULT_KEYS,)
            if not all(part in shape for part in recorded):  # stored before they were
                value = load_checked(store, outcome.manifest, self._pickle_allowed())
                shape = _result_shape(value)
        keys = shape[RESULT_KEYS]
        if keys is None and lists and shape[RESULT_LENGTH] is not None:
            return list(range(shape[RESULT_LENGTH]))
        return keys

    def _pickle_allowed(self) -> bool:
        allowed = self.options.allow_pickle
        return allowed if allowed is not None else config.allow_pickle()

    def _advance_pointer(self, store: Store, signature: str) -> None:
        instance = config.instance_name()
        memo_key = (store.url, instance, self.name)
        if _pointer_memo.get(memo_key) == signature or writes_refused(store):
            return
        try:
            current = store.pointer(self.name, instance)
            if current is None or current.signature != signature:
                store.set_pointer(self.name, signature, instance)
        except StoreError as exc:  # the value is in hand: the pointer only records it
            warn(f"{exc}; {self.name} still points at its previous result")
            return
        _pointer_memo[memo_key] = signature


# The stored tree's record of the result's shape (see ``Step.result_keys``): its top-level
# keys, and a list's or tuple's length.
RESULT_KEYS = "result_keys"
RESULT_LENGTH = "result_length"


def _result_shape(value: object) -> dict[str, Any]:
    """See :meth:`Step.result_keys`."""
    keys: list[str | int] | None = None
    if isinstance(value, dict):
        keys = list(value) if all(type(key) is str for key in value) else None
    elif isinstance(value, tuple):
        keys = list(range(len(value)))
    length = len(value) if isinstance(value, (list, tuple)) else None
    return {RESULT_KEYS: keys, RESULT_LENGTH: length}


def _entry(store: Store, signature: str) -> Manifest | None:
    """The entry committed for ``signature`` now; a damaged one counts as none."""
    try:
        return store.manifest(signature)
    except CorruptEntry:
        return None


def _tolerate(error: StoreError) -> None:
    """Raise ``error`` unless ``on_store_error="compute"``: then warn once and go on uncached."""
    if config.on_store_error() != "compute":
        raise error
    warn_once(f"{error}; computing without caching (on_store_error='compute')")


# (store url, instance, name) -> the signature this process last pointed the name at: a warm
# hit does not rewrite the pointer. Bounded by the names a process runs.
_pointer_memo: dict[tuple[str, str, str], str] = {}


def load_refs(
    args: tuple[Any, ...], kwargs: Mapping[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The arguments with every ``Ref`` loaded (at any depth of lists, tuples and dicts): what
    a body receives on a miss. Signing saw the ``Ref``s, so upstream data is read only here."""
    return tuple(map(resolve_refs, args)), {k: resolve_refs(v) for k, v in kwargs.items()}


def _loaded(value: Any) -> Any:
    """A ``Ref``'s value, a lazy hit's value (read now); any other argument as it is."""
    return value.load() if isinstance(value, Ref) else deferred.loaded(value)


# The signature part that records ``input_type``.
INPUT_TYPE = "input_type"


def stored_value(value: Any) -> Any:
    """The function of :meth:`Step.for_value`: a value signed by its content alone."""
    return value
