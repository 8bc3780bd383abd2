"""What a user sees of cached calls without configuring anything.

Each call logs one INFO line on the ``skipwise`` logger (``reused ...`` or ``computing ...``,
see :mod:`skipwise.step`). While the root logger has no handlers (a plain script, a
notebook), a handler of ours writes those lines to stderr, like joblib's ``[Memory]`` lines;
once the user configures logging, the records only propagate and their configuration decides.
In a terminal, a status line shows which call is computing. ``SKIPWISE_QUIET=1`` silences the
lines and the status line; ``logging.getLogger("skipwise").setLevel(logging.WARNING)`` the
lines.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from typing import TypeVar

from skipwise import config

R = TypeVar("R")

logger = logging.getLogger("skipwise")
_status_shown = threading.Event()  # one status line at a time (a cached call may call another)


class _Quiet(logging.Filter):
    """Drops the per-call lines (not warnings) under ``SKIPWISE_QUIET``."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or not config.quiet()


class _UntilConfigured(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to the current stderr while the root logger has no handlers of its own."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("[skipwise] %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if not logging.getLogger().handlers:
            self.setStream(sys.stderr)  # a notebook or a status line may have replaced it
            super().emit(record)


def with_status(name: str, body: Callable[[], R]) -> Callable[[], R]:
    """``body``, showing ``computing NAME`` while it runs when stderr is a terminal."""

    def run() -> R:
        shown = (
            sys.stderr.isatty()
            and not config.quiet()
            and threading.current_thread() is threading.main_thread()
            and not _status_shown.is_set()
        )
        if not shown:
            return body()
        from rich.console import Console  # only in a terminal, only when something computes

        _status_shown.set()
        try:
            with Console(stderr=True).status(f"computing {name}"):
                return body()
        finally:
            _status_shown.clear()

    return run


def _install() -> None:
    if not any(isinstance(h, _UntilConfigured) for h in logger.handlers):
        logger.addHandler(_UntilConfigured())
        logger.addFilter(_Quiet())
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)


_install()
