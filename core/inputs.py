"""Inputs from outside the code: files and environment variables.

A signature covers a file by its content and a name that does not depend on where the checkout
lives (:func:`path_label`), and an environment variable by its value (or "unset"). Declared
with ``depends_on=[skipwise.File(...), skipwise.Env(...)]``, or found in a function body by
:mod:`skipwise.reads`, each becomes a node of the code graph (``file:...``, ``env:...``) that is
hashed again on every signing pass: content changes without any code changing.

Cost: a file is hashed whole (BLAKE3, memory-mapped, on all cores: about 1 GB/s a core) the
first time a process signs it, then only ``stat``-ed while its device, inode, size, mtime and
ctime stay the same. A file changed within two seconds of being hashed is hashed again next
time, because timestamps are coarse (the "racy" case git knows): a write in the same tick could
leave all five unchanged. A directory costs a walk and a ``stat`` per file on every pass.
"""

from __future__ import annotations

import functools
import glob
import itertools
import os
import sys
import time
from collections.abc import Iterable
from pathlib import Path, PurePath

from skipwise import hashing
from skipwise.memo import trim

MISSING = "missing"

# Absolute path -> ((device, inode, size, mtime_ns, ctime_ns), content digest).
_digests: dict[str, tuple[tuple[int, ...], str]] = {}
_FILES = 20_000
_RACY_NS = 2_000_000_000


def file_content(path: str) -> str:
    """The BLAKE3 of one file's bytes, remembered while its stat stamp is unchanged."""
    path = os.path.abspath(path)
    st = os.stat(path)
    stamp = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    hit = _digests.get(path)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    digest = hashing.file_digest(path)
    if time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) > _RACY_NS:
        _digests.pop(path, None)  # the newest goes last
        _digests[path] = (stamp, digest)
        trim(_digests, _FILES)
    return digest


def content(path: str, *, patterns: bool = True) -> str:
    """What a file, a directory or (with ``patterns``) a glob pattern holds, or
    :data:`MISSING`.

    A directory (recursively) and a pattern's matches count by their files' names (relative to
    the directory, or to the pattern's fixed leading folders) and contents, so adding,
    removing or renaming a file changes it. A link to a file counts as the file; links to folders are not followed.
    """
    if patterns and _is_pattern(path):
        base = _fixed_prefix(path)
        matches = sorted(glob.glob(path, recursive=True))
        return _listing("glob", base, ((m, content(m, patterns=False)) for m in matches))
    if os.path.isdir(path):
        return _listing("directory", path, _files_below(path))
    try:
        return file_content(path)
    except FileNotFoundError:
        return MISSING
    except OSError as exc:  # unreadable: say so, rather than pretending it is absent
        return f"unreadable: {type(exc).__name__}"


def _files_below(root: str) -> Iterable[tuple[str, str]]:
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(folder, name)
            yield path, content(path, patterns=False)


def _listing(kind: str, base: str, items: Iterable[tuple[str, str]]) -> str:
    parts: list[str] = []
    for path, digest in items:
        parts += [Path(os.path.relpath(path, base)).as_posix(), digest]
    return hashing.digest_fields(kind, *parts)


def _is_pattern(path: str) -> bool:
    return glob.has_magic(path)


def _fixed_prefix(pattern: str) -> str:
    """The folders of a pattern before its first wildcard: what match names are relative to."""
    fixed = list(itertools.takewhile(lambda part: not _is_pattern(part), Path(pattern).parts))
    return os.path.join(*fixed) if fixed else "."


# --- names that do not depend on where the checkout lives ---------------------------------


def path_label(path: str | os.PathLike[str], roots: Iterable[str] = ()) -> str:
    """A path as a signature names it: relative as written; under a folder of user code
    (``roots``, then the ``sys.path`` folders that are not installed packages) relative to
    it, as ``<checkout>/...``; other absolute paths as they are."""
    text = (path if isinstance(path, PurePath) else Path(os.fspath(path))).as_posix()
    return portable_text(text, roots) if os.path.isabs(text) else text


def portable_text(text: str, roots: Iterable[str] = ()) -> str:
    """``text`` exactly as it is, unless it names a place under a folder of user code: then
    relative to the outermost such folder (``<checkout>/data``), so that two places never get
    one name when one folder of user code holds another (``/x`` and ``/x/src`` on
    ``sys.path``). Also for a ``str`` constant built from ``__file__``
    (``os.path.dirname(__file__)``): where the checkout lives is not the code's content."""
    holding = [
        root
        for root in (*roots, *_user_roots())
        if text == root or text.startswith(root.rstrip("/") + "/")
    ]
    if not holding:
        return text
    root = min(holding, key=len)
    return "<checkout>/" + text[len(root) :].lstrip("/")


@functools.lru_cache(maxsize=16)  # one entry per sys.path seen
def _user_roots_for(entries: tuple[str, ...]) -> tuple[str, ...]:
    import sysconfig

    installed = {os.path.realpath(p) for k, p in sysconfig.get_paths().items() if k.endswith("lib")}
    roots = []
    for entry in entries:
        real = os.path.realpath(entry or os.getcwd())
        inside = any(real == i or real.startswith(i.rstrip("/") + "/") for i in installed)
        if os.path.isdir(real) and not inside:
            roots.append(real)
    return tuple(sorted(set(roots)))


def _user_roots() -> tuple[str, ...]:
    return _user_roots_for(tuple(sys.path))


# --- declared inputs ----------------------------------------------------------------------


class Input:
    """A file or an environment variable a signature covers: a code-graph node of its own."""

    __slots__ = ()
    kind = ""  # the node's kind
    noun = ""  # what changes say it is

    @property
    def key(self) -> str:
        """The node's key, shared by every function that reads the same input."""
        raise NotImplementedError

    def digest(self) -> str:
        raise NotImplementedError

    def describe(self) -> str:
        """What the node shows in diffs (never an environment variable's value)."""
        raise NotImplementedError


class File(Input, os.PathLike):
    """A file, a directory (its files, recursively) or a glob pattern, by content.

    As an argument, it stands for the content only: ``os.fspath(File("data.csv"))`` is the
    path, so the callee can open it like any path. In ``depends_on``, it is a node keyed by
    :func:`path_label` whose digest covers that name and the content (or "missing", so the
    signature changes when the file appears). A relative path is resolved against the working
    directory each time the signature is computed.
    """

    __slots__ = ("label", "path")
    kind = noun = "file"

    def __init__(self, path: str | os.PathLike[str], *, label: str | None = None) -> None:
        if not isinstance(path, str | os.PathLike):
            raise TypeError(f"skipwise.File needs a path, got {path!r}")
        self.path = Path(path)
        self.label = label if label is not None else path_label(self.path)

    def __fspath__(self) -> str:
        return os.fspath(self.path)

    def __repr__(self) -> str:
        return f"File({os.fspath(self.path)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, File) and (other.path, other.label) == (self.path, self.label)

    def __hash__(self) -> int:
        return hash(self.path)

    @property
    def key(self) -> str:
        return "file:" + self.label

    def content_digest(self) -> str:
        """The content alone (an argument): a missing path is an error, not a value."""
        found = content(os.fspath(self.path))
        if found == MISSING:
            raise FileNotFoundError(f"skipwise.File: {self.path} does not exist")
        return found

    def digest(self) -> str:
        return hashing.digest_fields("file", self.label, content(os.fspath(self.path)))

    def describe(self) -> str:
        found = content(os.fspath(self.path))
        return f"{self.label}: {found if found == MISSING else 'content ' + found[:16]}\n"


class Env(Input):
    """An environment variable, by its value, or "unset" (the signature changes when it is
    set). Only a digest of the value enters the signature; the value itself is never stored."""

    __slots__ = ("name",)
    kind, noun = "env", "environment variable"

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name or "=" in name:
            raise TypeError(f"skipwise.Env needs a variable name, got {name!r}")
        self.name = name

    def __repr__(self) -> str:
        return f"Env({self.name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Env) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)

    @property
    def key(self) -> str:
        return "env:" + self.name

    def digest(self) -> str:
        value = os.environ.get(self.name)
        if value is None:
            return hashing.digest_fields("env", self.name, MISSING)
        return hashing.digest_fields("env", self.name, "set", value)

    def describe(self) -> str:
        state = "unset" if self.name not in os.environ else "set"
        return f"{self.name}: {state}\n"


__all__ = ["MISSING", "Env", "File", "Input", "content", "path_label"]
