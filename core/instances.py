"""Pipeline instances: one pipeline run as ``full``, ``mini``, per user or per branch, without
one overwriting another's latest results.

An instance separates what is *named*: pointers (a name's latest result and its history) and
the SQL views that show them, in a schema per instance. It does not separate what is
*content-addressed*: a result is stored once, by signature, and served to every instance whose
call has that signature. So an instance never enters a signature; it changes one only through
the inputs it derives (``derive``), which are signed like any argument.

Which instance a call runs in is decided in one place, :func:`skipwise.config.instance`.
"""

from __future__ import annotations

import functools
import getpass
import re
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from skipwise.errors import InvalidInstance
from skipwise.store.base import validate_instance

# A function that receives a call's arguments by parameter and returns those to replace.
Derivation = Callable[[Mapping[str, Any]], Mapping[str, Any]]
# What an instance name may be filled in with, each made a valid part of an instance name.
_FIELDS = ("user", "branch")
_UNSAFE = re.compile(r"[^a-z0-9]+")
# Instances with a derivation, by the name they were declared with: what a name given as
# text (an Airflow param, a Dagster resource, $SKIPWISE_INSTANCE) finds.
_declared: dict[str, Instance] = {}


@dataclass(frozen=True)
class Instance:
    """A named instance of a pipeline, and how it derives its inputs.

    ``name`` may hold ``{user}`` and ``{branch}`` (``"mini_{user}"``), filled in when it runs
    (the login name, the checked-out git branch). ``derive`` maps a result name (a step's
    ``name``) to a function that receives the call's arguments by parameter and returns those
    to replace (``{"taxi.trips": lambda args: {"limit": 10_000}}``): the replaced arguments
    are what the function gets and what is signed. An instance with a ``derive`` is found by
    its name wherever an instance is given as text (the last one declared under a name wins).
    """

    name: str
    derive: Mapping[str, Derivation] = field(default_factory=dict)

    def __post_init__(self) -> None:
        placeholders = {f"{{{key}}}": "x" for key in _FIELDS}
        plain = self.name
        if isinstance(plain, str):
            for placeholder, filler in placeholders.items():
                plain = plain.replace(placeholder, filler)
        # What filling in can make: checked now, so a bad template fails where it is declared.
        where = "instance name" if plain == self.name else f"instance name {self.name!r} as"
        validate_instance(plain, where)
        bad = [name for name, fn in self.derive.items() if not callable(fn)]
        if bad:
            raise TypeError(f"instance {self.name!r}: derive for {bad} is not a function")
        object.__setattr__(self, "derive", MappingProxyType(dict(self.derive)))
        if self.derive:
            _declared[self.name] = self

    @property
    def key(self) -> str:
        """The name with ``{user}`` and ``{branch}`` filled in: what separates pointers and
        schemas."""
        if "{" not in self.name:
            return self.name
        filled = self.name.format(
            **{key: _field(key) for key in _FIELDS if f"{{{key}}}" in self.name}
        )
        return validate_instance(filled, f"instance {self.name!r} filled in as")

    def arguments(self, step: str, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """The replacements ``derive`` makes for a call of ``step`` (none if it names no
        such step)."""
        derivation = self.derive.get(step)
        if derivation is None:
            return {}
        changes = derivation(MappingProxyType(dict(arguments)))
        if not isinstance(changes, Mapping):
            raise TypeError(
                f"instance {self.key}: derive for {step} must return a mapping of arguments "
                f"to replace, got {type(changes).__name__}"
            )
        unknown = sorted(set(changes) - set(arguments))
        if unknown:
            raise TypeError(
                f"instance {self.key}: derive for {step} replaced {unknown}, which are not "
                f"parameters of {step} (parameters: {sorted(arguments)})"
            )
        return dict(changes)


def named(given: str | Instance, where: str) -> Instance:
    """The instance ``given`` names: itself, the one declared under that name, or a plain one
    (no derivation). ``where`` names the setting in errors."""
    if isinstance(given, Instance):
        return given
    if not isinstance(given, str):
        raise InvalidInstance(
            f"{where} must be an instance name or a skipwise.Instance, got {given!r}"
        )
    found = _declared.get(given)
    if found is not None:
        return found
    try:
        return Instance(given)
    except InvalidInstance as exc:
        raise InvalidInstance(f"{where}: {exc}") from None


def _field(key: str) -> str:
    text = _user() if key == "user" else _branch(Path.cwd())
    safe = _UNSAFE.sub("_", text.lower()).strip("_")
    if not safe or not safe[0].isalpha():
        safe = f"{key[0]}_{safe}".rstrip("_")
    return safe[:20].rstrip("_")


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception as exc:  # no login name in this environment (a bare container)
        raise InvalidInstance(f"cannot fill in {{user}} of an instance name: {exc}") from None


@functools.lru_cache(maxsize=8)
def _branch(folder: Path) -> str:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--abbrev-ref", "HEAD"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise InvalidInstance(f"cannot fill in {{branch}} of an instance name: {exc}") from None
    branch = done.stdout.strip()
    if done.returncode or not branch or branch == "HEAD":
        raise InvalidInstance(
            f"cannot fill in {{branch}} of an instance name: {folder} is not on a git branch"
        )
    return branch
