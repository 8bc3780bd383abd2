"""A botocore session prepared once in a process that forks task processes.

Every new S3 client reads and parses botocore's JSON descriptions of S3 (its API, endpoint
rules, partitions, retry rules): about 0.1 s of CPU, paid by every task process that opens an
S3 store, since s3fs builds a new session per filesystem. A process that forks task processes
(a Celery worker) prepares one session with those descriptions loaded
(:func:`skipwise.store.import_backend`); stores opened afterwards in that process and in its
forks use it. Preparing sends no request and resolves no credentials; a client (and its event
loop) is never carried over a fork, only the loaded descriptions.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
from collections.abc import Mapping
from typing import Any

S3_SCHEMES = frozenset({"s3", "s3a"})
_prepared: Any = None  # the prepared aiobotocore AioSession, once import_backend made it
_lock = threading.Lock()
_log = logging.getLogger(__name__)


def prepare() -> None:
    """Make this process's prepared session: its S3 descriptions loaded by building (and
    closing) one client with placeholder credentials, in a thread of its own so that a
    running event loop in the caller does not matter."""
    global _prepared
    with _lock:
        if _prepared is not None:
            return
        from aiobotocore.session import AioSession

        session = AioSession()

        async def build_client() -> None:
            async with session.create_client(
                "s3",
                region_name="us-east-1",
                aws_access_key_id="skipwise-warm-up",
                aws_secret_access_key="skipwise-warm-up",
            ):
                pass

        failure: list[BaseException] = []

        def run() -> None:
            try:
                asyncio.run(build_client())
            except Exception as exc:  # raised below, in the caller's thread
                failure.append(exc)

        thread = threading.Thread(target=run, name="skipwise-s3-prepare")
        thread.start()
        thread.join()
        if failure:  # only slower: each store makes its own session, as without preparing
            _log.warning("skipwise: botocore's S3 descriptions not preloaded: %s", failure[0])
            return
        _prepared = session


def with_prepared_session(options: Mapping[str, Any]) -> dict[str, Any]:
    """s3fs ``options`` with the prepared session, if there is one and the options ask for
    no session of their own: neither ``session`` nor an option s3fs gives a new session
    (those it does not take itself, such as ``profile``)."""
    chosen = dict(options)
    if _prepared is None or "session" in chosen:
        return chosen
    from s3fs import S3FileSystem

    taken = set(inspect.signature(S3FileSystem.__init__).parameters) | _FILESYSTEM_OPTIONS
    if set(chosen) <= taken:
        chosen["session"] = _prepared
    return chosen


# Options fsspec itself takes from an S3FileSystem's keyword arguments.
_FILESYSTEM_OPTIONS = {
    "use_listings_cache",
    "listings_expiry_time",
    "max_paths",
    "skip_instance_cache",
}
