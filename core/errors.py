"""Exceptions and warnings raised by skipwise, and the one function that masks credentials."""

from __future__ import annotations

import re
from urllib.parse import unquote

MASK = "***"
# ``scheme://user:password@host``: the password goes, up to the last "@" of the word, whatever
# it holds ("/", ":" and "@" unquoted included), since a raw password is what users paste.
_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*://[^\s/:@]*):(\S*)@(?=[^\s@]*(?:\s|$|[)'\",]))")
# Names of parameters and options whose values are secrets.
_SECRET_NAMES = r"password|passwd|pwd|sslpassword|secret|secret_key|aws_secret_access_key|token|sig"
# ``password=...`` in a query string or a libpq connection string.
_SECRET_PARAMETER = re.compile(rf"(?i)\b({_SECRET_NAMES})=([^\s&;'\"]+)")
# An option (storage_options, a connection's extras) whose value is a secret.
_SECRET_OPTION = re.compile(rf"(?i)({_SECRET_NAMES}|credential|private|account_key|sas)")


def redact(text: str) -> str:
    """``text`` with every password in it masked: the one of a URL's ``user:password@`` part
    (PostgreSQL, fsspec URLs) and ``password=`` style parameters. Store URLs, error messages,
    log lines and what hosts show (XCom, Dagster metadata) all pass through here."""
    return _SECRET_PARAMETER.sub(rf"\1={MASK}", _USERINFO.sub(rf"\1:{MASK}@", text))


def secrets_in(text: str) -> list[str]:
    """The parts of ``text`` that :func:`redact` masks, as they appear and URL-decoded: what a
    host registers with its own log masker (a driver may print either form)."""
    found = [m[2] for m in _USERINFO.finditer(text)]
    found += [m[2] for m in _SECRET_PARAMETER.finditer(text)]
    return sorted({form for secret in found for form in (secret, unquote(secret)) if form})


def is_secret_option(name: str) -> bool:
    """Whether an option named ``name`` holds a secret (``secret``, ``token``, ``password``,
    ``aws_secret_access_key``...): its value is masked, never shown."""
    return _SECRET_OPTION.search(name) is not None


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


class QueryFailed(SkipwiseError):
    """A lazy step's query failed in the database; the message names the step and the
    database's error. Its transaction was rolled back: nothing of it was stored."""


class CodecError(SkipwiseError):
    """A value cannot be written or read by the chosen codec."""


class InvalidName(SkipwiseError, ValueError):
    """A result name that could escape the store or is not portable."""


class InvalidInstance(SkipwiseError, ValueError):
    """An instance name that could not safely name a folder, a key or a SQL schema."""
