"""The one status vocabulary: what a call did, what a plan predicts, how a picture colours it.

Every layer (``Outcome``, ``skipwise plan``, the pictures, the CLI, the Airflow tab, the
Dagster report) uses these members and these wordings, so a status or a reason reads the same
wherever a user meets it. ``Status`` is a ``StrEnum``: its members compare equal to their
values, which is what JSON, XCom and Dagster metadata carry.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class Style:
    """How a status is drawn and named in pictures and legends."""

    fill: str
    stroke: str
    legend: str
    short: str  # one word for tables ("reuse", "rerun", ...)


class Status(StrEnum):
    # What a call did.
    REUSED = "reused"
    COMPUTED = "computed"
    # What the next run will do (plan).
    REUSE = "reuse"
    RERUN_CODE = "rerun-code"
    RERUN_UPSTREAM = "rerun-upstream"
    RERUN_INPUT = "rerun-input"  # arguments, host facts, or a file or variable the code reads
    RERUN_FORCED = "rerun-forced"
    NEW = "new"
    UNMANAGED = "unmanaged"
    # A part of a signature tree compared with the previous result.
    CHANGED = "changed"
    UNCHANGED = "unchanged"

    @property
    def style(self) -> Style:
        return _STYLES[self]

    @property
    def runs(self) -> bool:
        """Whether the body runs (did run, or will): what ``plan --check`` and reruns count."""
        return self in _RUNS

    @classmethod
    def of(cls, value: str) -> Status:
        """The member for a status text read back from JSON, XCom or metadata; unknown text
        (a newer writer) is drawn as not managed rather than failing."""
        try:
            return cls(value)
        except ValueError:
            return cls.UNMANAGED


_STYLES: dict[Status, Style] = {
    Status.REUSED: Style("#e6f4ea", "#1e8e3e", "reused", "reused"),
    Status.COMPUTED: Style("#e8f0fe", "#1a73e8", "computed", "computed"),
    Status.REUSE: Style("#e6f4ea", "#1e8e3e", "reused / unchanged", "reuse"),
    Status.RERUN_CODE: Style("#fce8e6", "#d93025", "will rerun: code changed", "rerun"),
    Status.RERUN_UPSTREAM: Style(
        "#fef7e0", "#e37400", "reruns unless its upstream's output is unchanged", "rerun"
    ),
    Status.RERUN_INPUT: Style("#fce8e6", "#d93025", "will rerun: inputs changed", "rerun"),
    Status.RERUN_FORCED: Style("#fce8e6", "#d93025", "will rerun: forced", "rerun"),
    Status.NEW: Style("#e8f0fe", "#1a73e8", "new: never stored", "new"),
    Status.CHANGED: Style("#fce8e6", "#d93025", "changed", "changed"),
    Status.UNCHANGED: Style("#f1f3f4", "#5f6368", "unchanged", "unchanged"),
    Status.UNMANAGED: Style("#ffffff", "#9aa0a6", "not managed by skipwise", "not managed"),
}


_RUNS = frozenset(
    {
        Status.COMPUTED,
        Status.RERUN_CODE,
        Status.RERUN_UPSTREAM,
        Status.RERUN_INPUT,
        Status.RERUN_FORCED,
        Status.NEW,
    }
)


class Reason:
    """The wording of each reason, in one place."""

    UNCHANGED = "unchanged"
    NEW = "new: no earlier result under this name"
    UNUSABLE = "stored result was unusable"
    FORCED = "forced: recompute requested"
    NO_DIFFERENCE = "no recorded difference"
    UNMANAGED = "not managed by skipwise"

    @staticmethod
    def concurrent(producer: str) -> str:
        """A result another caller computed while this one waited for it (its lease)."""
        return f"computed concurrently by {producer}"

    @staticmethod
    def store_unusable(error: object) -> str:
        return f"store unusable: {error}"

    @staticmethod
    def upstream_reruns(upstream: str) -> str:
        return f"upstream {upstream} will rerun"
