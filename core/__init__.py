"""skipwise: skip pipeline work whose code and inputs have not changed.

Few entry points: ``cached`` (decorator), ``signature`` (what a call would be stored under),
``configure`` (store and options), ``Instance`` (a pipeline instance), ``File`` and ``Ref``
(arguments by content / by signature), ``File`` and ``Env`` in ``depends_on`` (inputs the code
reads), ``RawSql`` (a lazy step's SQL script), ``load`` (the value behind a hit, which is read
on first use), ``register_hasher`` and ``register_codec`` (teach it new types), ``open_store``,
and ``Status`` (what a call did or will do). Orchestrator integrations use :mod:`skipwise.host`.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("skipwise")
except PackageNotFoundError:  # running from a checkout that is not installed
    __version__ = "0+unknown"

from skipwise.cached import Cached, cached, signature
from skipwise.config import configure
from skipwise.engine import Outcome, Ref, load
from skipwise.errors import (
    ArgumentError,
    CodecError,
    InvalidInstance,
    InvalidName,
    LeaseHeld,
    QueryFailed,
    SkipwiseError,
    SkipwiseWarning,
    StoreError,
)
from skipwise.inputs import Env, File
from skipwise.instances import Instance
from skipwise.lazy import RawSql
from skipwise.status import Status
from skipwise.store import open_store, register_codec
from skipwise.values import register_hasher

__all__ = [
    "ArgumentError",
    "Cached",
    "CodecError",
    "Env",
    "File",
    "Instance",
    "InvalidInstance",
    "InvalidName",
    "LeaseHeld",
    "Outcome",
    "QueryFailed",
    "RawSql",
    "Ref",
    "SkipwiseError",
    "SkipwiseWarning",
    "Status",
    "StoreError",
    "__version__",
    "cached",
    "configure",
    "load",
    "open_store",
    "register_codec",
    "register_hasher",
    "signature",
]
