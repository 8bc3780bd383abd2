"""``skipwise.cached``: the user-facing face of :class:`skipwise.step.Step` in plain Python.

It adds what only an in-process caller needs: a call returns the value (on a hit, one that is
read the first time it is used, :mod:`skipwise.deferred`), and results remember the signature they
came from, so passing one to another cached function signs it by lineage, without reading it.
"""

from __future__ import annotations

import dataclasses
import functools
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Generic, ParamSpec, TypeVar, overload

from skipwise import display, lazy, recording
from skipwise.codegraph import CodeGraph
from skipwise.deferred import LazyResult
from skipwise.engine import Outcome, remember
from skipwise.status import Status
from skipwise.step import Decision, Step, StepOptions
from skipwise.store import Store
from skipwise.tree import SignatureTree

P = ParamSpec("P")
R = TypeVar("R")


# Hits stored by these codecs load lazily: frames, tables and arrays, objects of their own that
# are remembered by lineage when computed too, so a result passed on signs alike whether it was
# computed, reused or loaded. Other values (scalars, text, containers) are small and load at once:
# a scalar is never remembered (it is shared), so a stand-in for it would sign differently.
LAZY_CODECS = frozenset({"pandas", "arrow", "numpy"})


class Cached(Generic[P, R]):
    """A function whose results are stored by signature and reused while it is unchanged."""

    def __init__(self, fn: Callable[P, R], **options: Any):
        """``options`` are :class:`~skipwise.step.StepOptions`' fields (see ``cached``)."""
        self.step: Step[R] = Step(fn, StepOptions.of("skipwise.cached", **options))
        functools.update_wrapper(self, fn)  # type: ignore[arg-type]

    @property
    def fn(self) -> Callable[P, R]:
        return self.step.fn

    @property
    def name(self) -> str:
        return self.step.name

    def __repr__(self) -> str:
        return f"<skipwise.cached {self.name}>"

    def __skipwise_node__(self) -> tuple[Callable[..., Any], str, tuple[object, ...]]:
        """What another function's signature covers when it calls this one."""
        return self.step.fn, self.step.version, self.step.options.depends_on

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """The value; on a hit of a frame, table or array, one read the first time it is used
        (a :class:`LazyResult`): a call that only passes it on reads nothing."""
        return self._run(args, kwargs, defer=True).value

    def code(self) -> CodeGraph:
        """The code graph, extended by ``depends_on``."""
        return self.step.code()

    def tree(self, *args: P.args, **kwargs: P.kwargs) -> SignatureTree:
        """The signature tree this call would have in the current instance; nothing runs,
        nothing is read."""
        return self.step.sign(*self.step.derive(args, kwargs))

    def signature(self, *args: P.args, **kwargs: P.kwargs) -> str:
        return self.tree(*args, **kwargs).signature

    def run(self, *args: P.args, **kwargs: P.kwargs) -> Outcome[R]:
        """Call, and say what happened: reused or computed, and why. While ``skipwise plan``
        imports a module, the call is recorded instead of run (:mod:`skipwise.recording`).

        ``force=True`` recomputes and replaces the stored result (unless the function has a
        ``force`` parameter of its own: then it is the function's argument). The value is
        read now, so the status is what happened (a damaged entry is recomputed here); a plain
        call defers reading it."""
        return self._run(args, kwargs, defer=False)

    def _run(self, args: tuple[Any, ...], kwargs: dict[str, Any], *, defer: bool) -> Outcome[R]:
        force = False if self.step.takes("force") else bool(kwargs.pop("force", False))
        args, kwargs = self.step.derive(args, kwargs)  # type: ignore[assignment]
        try:
            tree = self.step.sign(args, kwargs)
        except lazy.UpstreamMissing:
            if not recording.active():
                raise
            # A lazy call planned before its upstream was stored: no table to query, so no
            # query yet; it will run.
            tree = self.step.sign(args, kwargs, query=False)
        planned = recording.record(self.step, tree)
        if planned is not None:
            return planned
        return self.execute(tree, args, kwargs, force=force, defer=defer)

    def execute(
        self,
        tree: SignatureTree,
        args: tuple[Any, ...],
        kwargs: Mapping[str, Any],
        *,
        load: bool = True,
        force: bool = False,
        defer: bool = False,
    ) -> Outcome[R]:
        """Serve ``tree``'s result, or run the function with these arguments (see
        :meth:`Step.resolve` for ``force``). With ``defer``, a hit's frame, table or array is
        a :class:`LazyResult`, read the first time it is used (``load=False``: None)."""
        step = self.step
        body = display.with_status(step.name, lambda: step.call(args, kwargs))
        decision = step.resolve(tree, force=force)
        lazy = (
            defer
            and load
            and decision.manifest is not None
            and decision.manifest.codec in LAZY_CODECS
        )
        outcome = step.complete(decision, body, load=load and not lazy)
        if lazy and outcome.status is Status.REUSED:
            pending = [decision, body]  # let go of once read: the body holds the arguments
            value = LazyResult(lambda: self._materialize(pending, proxy()))
            proxy = weakref.ref(value)
            outcome = dataclasses.replace(outcome, value=value)
            remember(value, outcome)
        elif outcome.status is Status.REUSED:
            if load:
                remember(outcome.value, outcome)
        elif not any(outcome.value is v for v in step.bind(args, kwargs).values()):
            remember(outcome.value, outcome)  # an input keeps its own identity
        return outcome

    def _materialize(self, pending: list[Any], proxy: object) -> R:
        """A hit's value, when first used: :meth:`Step.materialize` loads it, and recomputes
        and replaces an entry found damaged (then the proxy takes the new result's lineage).
        ``pending`` is the hit's decision and body, emptied once the value is in hand."""
        decision: Decision = pending[0]
        body: Callable[[], R] = pending[1]
        try:
            outcome = self.step.materialize(decision, body)
        except Exception as exc:
            exc.add_note(
                f"skipwise: raised while reading the stored result of {self.name} "
                f"({decision.tree.signature[:12]}), first used here"
            )
            raise
        remember(outcome.value, outcome)
        if proxy is not None and outcome.status is Status.COMPUTED:
            remember(proxy, outcome)
        pending.clear()
        return outcome.value


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
    on_lease_held: str | None = None,
    lazy: bool = False,
    input_type: object = None,
    fresh: object = None,
) -> Callable[[Callable[P, R]], Cached[P, R]]: ...


def cached(fn=None, /, **options):
    """Store ``fn``'s results by signature and reuse them while code and inputs are unchanged.

    Use as ``@cached``, ``@cached(name=..., version=...)`` or ``cached(fn)(*args)``. The
    options are :class:`~skipwise.step.StepOptions`' fields: ``name``, ``version``,
    ``ignore``, ``codec``, ``depends_on``, ``allow_pickle``, ``store``, ``on_lease_held``,
    ``lazy``, ``input_type`` (the table type inputs arrive as) and ``fresh`` (functions
    telling how fresh the external sources the body reads are). With ``lazy=True`` the
    function returns a SQL query over its upstream results (given as SQLAlchemy tables); the
    SQL store runs it on a miss, and a call returns a ``Ref`` to the result's table (see
    :mod:`skipwise.lazy`).
    """
    if fn is None:
        return lambda f: Cached(f, **options)
    return Cached(fn, **options)


def signature(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> str:
    """The signature ``fn(*args, **kwargs)`` would be stored under; nothing runs."""
    target = fn if isinstance(fn, Cached) else Cached(fn)
    return target.signature(*args, **kwargs)
