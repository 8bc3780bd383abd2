"""HMAC signatures of whole manifests: what a store's signing key adds to its checksums.

A checksum (in every manifest) catches accidents: a truncated upload, a flipped bit, a file
edited by hand. It cannot stop a teammate who writes a new manifest with a matching checksum.
With a team key set, every manifest a store writes carries an HMAC of all its fields (the
data's checksum, its codec and location, the producer), and a manifest read back without a
valid one is refused: only a holder of the key can make an entry that is served. Loading a
pickle runs code, so on shared stores pickles are only written and read with a key.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import re
from typing import TYPE_CHECKING

from skipwise.errors import StoreError

if TYPE_CHECKING:
    from skipwise.store.base import Manifest

FIELD = "hmac"
_HEX = re.compile(r"[0-9a-f]{64}")  # what an HMAC-SHA256 looks like (compare_digest wants ASCII)
# A shorter key is refused: it is a typo or a placeholder, not a team secret.
MIN_KEY_BYTES = 16


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
        raise CorruptEntry(f"entry {manifest.signature} in {store_url} is not signed")
    if not (_HEX.fullmatch(given) and hmac.compare_digest(given, _mac(manifest, key))):
        raise CorruptEntry(
            f"entry {manifest.signature} in {store_url} has a wrong signature "
            "(written with another key, or altered)"
        )


def key_from(value: str | bytes | None) -> bytes | None:
    """A signing key from configuration (None: no key). An empty or short key is an error,
    never silently "no key"."""
    if value is None:
        return None
    key = value.encode() if isinstance(value, str) else bytes(value)
    if len(key.strip()) < MIN_KEY_BYTES:
        what = "empty" if not key.strip() else f"{len(key)} bytes long"
        raise StoreError(
            f"the signing key (SKIPWISE_SIGNING_KEY or signing_key=) is {what}: use at least "
            f"{MIN_KEY_BYTES} bytes (e.g. `python -c 'import secrets; print(secrets.token_hex())'`)"
            ", or unset it for no key"
        )
    return key
