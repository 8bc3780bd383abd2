"""Exceptions and warnings raised by skipwise."""


class SkipwiseError(Exception):
    """Base class of every error skipwise raises on purpose."""


class SkipwiseWarning(UserWarning):
    """Something skipwise could not follow or verify; the message says what and where."""


class StoreError(SkipwiseError):
    """A store could not be reached or used; the message names the store URL and the cause."""


class CodecError(SkipwiseError):
    """A value cannot be written or read by the chosen codec."""


class InvalidName(SkipwiseError, ValueError):
    """A result name that could escape the store or is not portable."""
