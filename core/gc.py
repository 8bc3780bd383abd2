"""Garbage collection: which stored results to drop under a retention policy.

Never removes what a name points to, nor anything a link leads to: links and special files in
a store are reported as refused and left to a person. A dry run (the default in the CLI) only
reports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from skipwise.store import Leftover, Manifest, Refused, Store
from skipwise.store.base import LEFTOVER_GRACE


@dataclass(frozen=True)
class Policy:
    keep_latest: int | None = None  # per name: keep the newest N signatures of its history
    older_than: timedelta | None = None  # drop results created longer ago than this
    # Uncommitted files younger than this may belong to a writer that is still busy.
    leftover_grace: timedelta = LEFTOVER_GRACE

    def __post_init__(self) -> None:
        if self.keep_latest is not None and self.keep_latest < 1:
            raise ValueError(f"keep_latest must be at least 1, got {self.keep_latest}")
        for label, span in (
            ("older_than", self.older_than),
            ("leftover_grace", self.leftover_grace),
        ):
            if span is not None and span < timedelta(0):
                raise ValueError(f"{label} must not be negative, got {span}")


@dataclass
class Report:
    drop: list[Manifest] = field(default_factory=list)
    keep: list[Manifest] = field(default_factory=list)
    leftovers: list[Leftover] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)  # never followed nor removed

    @property
    def reclaimed_bytes(self) -> int:
        return sum(m.size for m in self.drop) + sum(lo.size for lo in self.leftovers)


def plan_collection(
    store: Store, policy: Policy, progress: Callable[[], None] | None = None
) -> Report:
    """Decide what to drop; nothing is removed."""
    pinned: set[str] = set()
    retained: set[str] = set()
    for pointer in store.pointers():
        pinned.add(pointer.signature)
        if policy.keep_latest is not None:
            retained.update((pointer.signature, *pointer.history)[: max(policy.keep_latest, 1)])
    now = datetime.now(UTC)
    report = Report()
    for manifest in store.manifests():
        if progress:
            progress()
        if manifest.signature in pinned or _wanted(manifest, policy, retained, now):
            report.keep.append(manifest)
        else:
            report.drop.append(manifest)
    report.leftovers = list(store.leftovers(policy.leftover_grace))
    report.refused = list(store.refused())
    return report


def _wanted(manifest: Manifest, policy: Policy, retained: set[str], now: datetime) -> bool:
    if policy.keep_latest is None and policy.older_than is None:
        return True  # no policy: only leftovers go
    if policy.keep_latest is not None and manifest.signature not in retained:
        return False
    if policy.older_than is not None:
        created = datetime.fromisoformat(manifest.created_at)
        if now - created > policy.older_than:
            return False
    return True


def collect(store: Store, report: Report, progress: Callable[[], None] | None = None) -> None:
    """Remove what ``report`` says to drop, manifests first (readers then see a clean miss)."""
    for manifest in report.drop:
        store.delete(manifest.signature)
        if progress:
            progress()
    for leftover in report.leftovers:
        store.remove_leftover(leftover)
        if progress:
            progress()
