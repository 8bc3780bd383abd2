"""Exceptions and warnings raised by skipwise, and the one function that masks credentials."""

from __future__ import annotations

import re

MASK = "***"
# ``scheme://user:password@host``: the password (up to the last "@" before the path) goes.
_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*://[^\s/:@]*):[^\s/]*@")
# ``password=...`` in a query string or a libpq connection string.
_SECRET_PARAMETER = re.compile(
    r"(?i)\b(password|passwd|pwd|sslpassword|secret|secret_key|aws_secret_access_key|token|sig)"
    r"=[^\s&;'\"]+"
)


def redact(text: str) -> str:
    """``text`` with every password in it masked: the one of a URL's ``user:password@`` part
    (PostgreSQL, fsspec URLs) and ``password=`` style parameters. Store URLs, error messages,
    log lines and what hosts show (XCom, Dagster metadata) all pass through here."""
    return _SECRET_PARAMETER.sub(rf"\1={MASK}", _USERINFO.sub(rf"\1:{MASK}@", text))


def has_password(url: str) -> bool:
    """Whether ``url`` carries a password that :func:`redact` would mask."""
    return redact(url) != url


class SkipwiseError(Exception):
    """Base class of every error skipwise raises on purpose. Its message never shows a
    password: text arguments are redacted."""

    def __init__(self, *args: object) -> None:
        super().__init__(*(redact(a) if isinstance(a, str) else a for a in args))


class SkipwiseWarning(UserWarning):
    """Something skipwise could not follow or verify; the message says what and where."""


class StoreError(SkipwiseError):
    """A store could not be reached or used; the message names the store URL and the cause."""


class LeaseHeld(SkipwiseError):
    """Another caller is computing this result and ``on_lease_held="fail"`` says not to wait;
    the message names the holder."""


class ArgumentError(SkipwiseError, TypeError):
    """An argument skipwise cannot sign; the message names the function, the argument and
    where inside it the problem is."""


class CodecError(SkipwiseError):
    """A value cannot be written or read by the chosen codec."""


class InvalidName(SkipwiseError, ValueError):
    """A result name that could escape the store or is not portable."""
