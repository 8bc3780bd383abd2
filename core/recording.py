"""While ``skipwise plan`` imports a target, cached calls are recorded instead of run.

A pipeline module may call its cached functions at top level (the README's example does).
Plan must not run them nor write to any store, yet their arguments are what the next run
will sign, so each call is signed and looked up (reads only) and its decision recorded. The
call returns :class:`Planned`, a reference standing for the result: a downstream call that
receives it signs it by its signature (lineage), exactly as it would sign the real result.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NoReturn

from skipwise.engine import Outcome, Ref
from skipwise.errors import SkipwiseError
from skipwise.step import Decision, Step
from skipwise.store.base import unsaved_manifest
from skipwise.tree import SignatureTree


@dataclass(frozen=True)
class Planned(Ref):
    """The result a recorded call would have: signed by its signature, never loaded."""

    name: str = ""

    def __repr__(self) -> str:
        return f"<skipwise plan: result of {self.name} {self.signature[:12]}, not computed>"

    def load(self) -> NoReturn:
        raise SkipwiseError(
            f"{self!r} is a placeholder: skipwise plan records cached calls, it does not run them"
        )


@dataclass
class Recording:
    """The decisions of the calls recorded so far, one per name and signature."""

    calls: dict[tuple[str, str], Decision] = field(default_factory=dict)

    def by_name(self) -> dict[str, tuple[Decision, ...]]:
        """The decisions of each name's calls, names in the order they were first called."""
        grouped: dict[str, list[Decision]] = {}
        for (name, _), decision in self.calls.items():
            grouped.setdefault(name, []).append(decision)
        return {name: tuple(decisions) for name, decisions in grouped.items()}


_recording: contextvars.ContextVar[Recording | None] = contextvars.ContextVar(
    "skipwise_recording", default=None
)


@contextlib.contextmanager
def recording() -> Iterator[Recording]:
    """Within this block, cached calls are recorded, not run (see :func:`record`)."""
    calls = Recording()
    token = _recording.set(calls)
    try:
        yield calls
    finally:
        _recording.reset(token)


def active() -> bool:
    """Whether a plan is recording calls."""
    return _recording.get() is not None


def record(step: Step[Any], tree: SignatureTree) -> Outcome[Any] | None:
    """Record a call whose tree is ``tree``, if a plan is recording (else None: run it).

    The outcome says what running it would do (reused or computed, and why); its value is a
    :class:`Planned` reference and ``stored`` is False: nothing ran, nothing was written."""
    calls = _recording.get()
    if calls is None:
        return None
    key = (step.name, tree.signature)
    if key not in calls.calls:
        calls.calls[key] = step.resolve(tree)
    decision = calls.calls[key]
    manifest = decision.manifest or unsaved_manifest(tree.signature, step.name, "", {})
    value = Planned(tree.signature, decision.store, name=step.name)
    return Outcome(
        value,
        tree.signature,
        decision.status,
        decision.reason,
        manifest,
        tree,
        decision.changes,
        stored=False,
    )
