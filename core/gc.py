"""Garbage collection: which stored results to drop under a retention policy.

Never removes what a name points to, nor anything a link leads to: links and special files in
a store are reported as refused and left to a person. A dry run (the default in the CLI) only
reports.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from skipwise.errors import SkipwiseError
from skipwise.store import CorruptEntry, Leftover, Manifest, Refused, Store
from skipwise.store.base import LEFTOVER_GRACE

_SIGNATURE_PREFIX = re.compile(r"[0-9a-f]{4,64}")


@dataclass(frozen=True)
class Policy:
    keep_latest: int | None = None  # per name: keep the newest N signatures of its history
    older_than: timedelta | None = None  # drop results created longer ago than this
    # Uncommitted files younger than this may belong to a writer that is still busy.
    leftover_grace: timedelta = LEFTOVER_GRACE
    verify: bool = False  # read every kept entry's data: what fails its checksum is dropped

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
    damaged: list[Manifest] = field(default_factory=list)  # failed verification: dropped

    @property
    def reclaimed_bytes(self) -> int:
        dropped = (*self.drop, *self.damaged)
        return sum(m.size for m in dropped) + sum(lo.size for lo in self.leftovers)


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
        if not (manifest.signature in pinned or _wanted(manifest, policy, retained, now)):
            report.drop.append(manifest)
        elif policy.verify and _damaged(store, manifest):
            report.damaged.append(manifest)  # even if a name points to it: it is useless
        else:
            report.keep.append(manifest)
    report.leftovers = list(store.leftovers(policy.leftover_grace))
    report.refused = list(store.refused())
    return report


def _damaged(store: Store, manifest: Manifest) -> bool:
    try:
        store.verify(manifest)
    except CorruptEntry:
        return True
    return False


def entries_by_signature(store: Store, text: str) -> list[Manifest] | None:
    """The entry a signature or a unique prefix of one (4+ hex digits) names; None when
    ``text`` is no signature."""
    if not _SIGNATURE_PREFIX.fullmatch(text):
        return None
    if len(text) == 64:
        manifest = store.manifest(text)
        return [manifest] if manifest else []
    matches = [m for m in store.manifests() if m.signature.startswith(text)]
    if len(matches) > 1:
        raise SkipwiseError(f"{text!r} matches {len(matches)} signatures; give more digits")
    return matches


def removal(store: Store, text: str) -> list[Manifest]:
    """What ``skipwise rm TEXT`` removes: the entry a signature (or unique prefix) names,
    else every result stored under the name ``text``."""
    found = entries_by_signature(store, text) or [m for m in store.manifests() if m.name == text]
    if not found:
        raise SkipwiseError(f"nothing stored for {text!r} in {store.url}")
    return found


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
    for manifest in (*report.drop, *report.damaged):
        store.delete(manifest.signature)
        if progress:
            progress()
    for leftover in report.leftovers:
        store.remove_leftover(leftover)
        if progress:
            progress()
