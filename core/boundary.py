"""Where user code ends: which modules are inside signatures and how their objects are named."""

from __future__ import annotations

import functools
import importlib.metadata
import re
import sys
import sysconfig
from pathlib import Path

from skipwise.memo import trim

_MISSING = object()
_MODULE_NAMES = 10_000  # module classifications kept


class Boundary:
    """Decides which modules are user code (inside signatures) and which are external."""

    def __init__(self, external: tuple[str, ...] = (), track_packages: bool = False):
        self.external = ("skipwise", *external)
        self.track_packages = track_packages
        paths = sysconfig.get_paths()
        # Standard library and installed packages; an editable install counts as user code.
        self._outside = tuple(
            {str(Path(paths[k]).resolve()) for k in ("stdlib", "platstdlib", "purelib", "platlib")}
        )
        self._outside_raw = tuple(
            {f"{paths[k]}/" for k in ("stdlib", "platstdlib", "purelib", "platlib")}
            | {f"{root}/" for root in self._outside}
        )
        self._cache: dict[str, bool] = {}

    def is_user_module(self, name: str | None) -> bool:
        if not name:
            return False
        cached = self._cache.get(name)
        if cached is None:
            cached = self._cache[name] = self._classify(name)
            # A process that imports generated modules sees new names forever.
            trim(self._cache, _MODULE_NAMES)
        return cached

    def _classify(self, name: str) -> bool:
        top = name.partition(".")[0]
        if top in sys.stdlib_module_names or top == "builtins":
            return False
        if any(name == p or name.startswith(p + ".") for p in self.external):
            return False
        module = sys.modules.get(name)
        if module is None:
            return False
        filename = getattr(module, "__file__", None)
        if filename is None:
            return name == "__main__"  # a notebook or REPL session
        if filename.startswith(self._outside_raw):
            return False  # installed: no need to resolve links (a file system call per module)
        resolved = str(Path(filename).resolve())
        return not any(resolved.startswith(root + "/") for root in self._outside)

    def is_user_type(self, t: type) -> bool:
        return self.is_user_module(getattr(t, "__module__", None))

    def package_version(self, module_name: str) -> str:
        top = module_name.partition(".")[0]
        if top in sys.stdlib_module_names or top == "builtins":
            return "python-" + ".".join(map(str, sys.version_info[:2]))
        return _distribution_version(top)


@functools.cache
def _distribution_version(top: str) -> str:
    dists = importlib.metadata.packages_distributions().get(top, [])
    versions = sorted({f"{d}=={importlib.metadata.version(d)}" for d in dists})
    return ",".join(versions) or "unknown"


# Airflow's DAG processor imports a DAG file as ``unusual_prefix_<sha1 of its path>_<stem>``.
_AIRFLOW_DAG_MODULE = re.compile(r"unusual_prefix_[0-9a-f]{40}_")


def module_label(name: str) -> str:
    """A module's name that does not depend on how it was started or where it lives on disk."""
    if name.startswith("unusual_prefix_"):
        return _AIRFLOW_DAG_MODULE.sub("", name, count=1)
    if name != "__main__":
        return name
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and spec.name:
        return spec.name
    filename = getattr(main, "__file__", None)
    return Path(filename).stem if filename else "__main__"


def canonical_key(obj: object) -> str | None:
    """``module:qualname`` when that path leads back to ``obj``, else None."""
    module_name = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if not isinstance(module_name, str) or not isinstance(qualname, str) or "<" in qualname:
        return None
    target: object = sys.modules.get(module_name)
    for part in qualname.split("."):
        try:
            target = getattr(target, part, _MISSING)
        except Exception:
            return None
        if target is _MISSING:
            return None
    return f"{module_label(module_name)}:{qualname}" if target is obj else None


def module_named(label: str):
    """The loaded module whose :func:`module_label` is ``label`` (``__main__``, a DAG file)."""
    module = sys.modules.get(label)
    if module is not None:
        return module
    for name, candidate in list(sys.modules.items()):
        if candidate is not None and module_label(name) == label:
            return candidate
    return None
