"""Forcing a recompute: per call, per process (``SKIPWISE_FORCE``) or per host run.

A forced step runs its body and replaces its stored result. Steps downstream are signed by the
checksum of what they consume (see ``engine.Lineage``), so they rerun only if the forced
result differs: a forced recompute never leaves them stale.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from fnmatch import fnmatchcase

from skipwise.errors import SkipwiseError

ENV = "SKIPWISE_FORCE"


def patterns(spec: object, where: str) -> tuple[str, ...]:
    """Globs from a host's setting: ``"a,b*"``, ``["a", "*"]``, ``True`` (everything) or
    nothing. ``where`` names the setting in the error for anything else."""
    if spec is None or spec is False or spec == "":
        return ()
    if spec is True:
        return ("*",)
    if isinstance(spec, str):
        return tuple(p.strip() for p in spec.split(",") if p.strip())
    if isinstance(spec, Iterable) and all(isinstance(p, str) for p in spec):
        return tuple(spec)
    raise SkipwiseError(
        f"{where}: expected a glob, a comma-separated list of globs or a list of them "
        f'(e.g. ["task_id", "*"]), got {spec!r}'
    )


def requested(spec: object, where: str, *names: str) -> bool:
    """Whether ``spec`` (see :func:`patterns`) names any of ``names`` (a task id, a result
    name...)."""
    globs = patterns(spec, where)
    return any(fnmatchcase(name, glob) for name in names for glob in globs)


def by_environment(*names: str) -> bool:
    """Whether ``$SKIPWISE_FORCE`` names any of ``names``."""
    return requested(os.environ.get(ENV), ENV, *names)
