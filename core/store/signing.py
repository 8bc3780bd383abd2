"""HMAC signatures for manifests of pickled results.

Loading a pickle runs code, so on a shared store a pickled entry is only trusted if its
manifest carries an HMAC made with the team's key. The manifest holds the data's checksum,
so signing the manifest covers the data too.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from skipwise.store.base import Manifest

FIELD = "hmac"


def _mac(manifest: Manifest, key: bytes) -> str:
    unsigned = {k: v for k, v in manifest.extra.items() if k != FIELD}
    body = dataclasses.replace(manifest, extra=unsigned).to_json()
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def seal(manifest: Manifest, key: bytes) -> Manifest:
    """``manifest`` with its HMAC added."""
    return dataclasses.replace(manifest, extra={**manifest.extra, FIELD: _mac(manifest, key)})


def verify(manifest: Manifest, key: bytes, store_url: str) -> None:
    """Raise CorruptEntry unless ``manifest`` carries a valid HMAC for ``key``."""
    from skipwise.store.base import CorruptEntry

    given = manifest.extra.get(FIELD)
    if not isinstance(given, str):
        raise CorruptEntry(f"pickled entry {manifest.signature} in {store_url} is not signed")
    if not hmac.compare_digest(given, _mac(manifest, key)):
        raise CorruptEntry(
            f"pickled entry {manifest.signature} in {store_url} has a wrong signature "
            "(written with another key, or altered)"
        )


def key_from(value: str | bytes | None) -> bytes | None:
    """A signing key from configuration text (empty means none)."""
    if not value:
        return None
    return value.encode() if isinstance(value, str) else bytes(value)
