"""Run in a fresh process: sign every public function and method of a package copied as user code.

Usage: ``sign_package.py PROJECT PACKAGE ORDER_SEED``. PROJECT is the folder
holding the copied package; it goes first on ``sys.path`` before anything else is imported, so
the copy (not the installed original) is what gets imported, and the script checks that it was.
Targets are signed in an order shuffled by ORDER_SEED, each twice (cold, then warm), so two runs
with different seeds also prove a signature does not depend on what else the process signed.

Prints one JSON object: ``signatures`` (target -> code digest), ``errors`` (target -> the
exception, which the caller treats as a crash), ``not_imported`` (modules that need an optional
dependency this venv lacks), ``warnings`` (SkipwiseWarning texts), ``foreign`` (modules imported
from somewhere other than PROJECT) and ``side_effects`` (package state that signing changed).
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import random
import sys
import traceback
import types
import warnings
from pathlib import Path

project, package, order_seed = sys.argv[1:]
sys.path.insert(0, project)

from skipwise.errors import SkipwiseWarning  # noqa: E402
from skipwise.host import Step  # noqa: E402

ROOT = Path(project).resolve()
DEPTH = 4  # how deep the state fingerprint follows containers and instance dictionaries


def import_package() -> tuple[list[types.ModuleType], dict[str, str]]:
    """The package and every submodule that imports here; modules that do not, with why."""
    top = importlib.import_module(package)
    modules, failed = [top], {}
    for info in pkgutil.walk_packages(top.__path__, package + "."):
        if info.name.endswith(".__main__"):
            continue  # it runs a command line when imported
        try:
            modules.append(importlib.import_module(info.name))
        except Exception as exc:  # an optional dependency missing here, e.g. a Windows module
            failed[info.name] = f"{type(exc).__name__}: {exc}"
    return modules, failed


def own(obj: object, module: types.ModuleType) -> bool:
    return getattr(obj, "__module__", None) == module.__name__


def plain(member: object) -> object | None:
    """The function behind a class member a user could sign (method, static, class, property)."""
    if isinstance(member, (staticmethod, classmethod)):
        member = member.__func__
    elif isinstance(member, property):
        member = member.fget
    return member if inspect.isfunction(member) else None


def targets(modules: list[types.ModuleType]) -> dict[str, object]:
    """Public functions defined in each module, and public methods of its public classes."""
    found: dict[str, object] = {}
    for module in modules:
        for name, value in sorted(vars(module).items()):
            if name.startswith("_") or not own(value, module):
                continue
            if inspect.isfunction(value):
                found[f"{module.__name__}:{value.__qualname__}"] = value
            elif isinstance(value, type):
                for attr, member in sorted(vars(value).items()):
                    fn = plain(member)
                    if fn is not None and not attr.startswith("_") and own(fn, module):
                        found[f"{module.__name__}:{value.__qualname__}.{attr}"] = fn
    return found


def fingerprint(modules: list[types.ModuleType]) -> dict[str, object]:
    """What package state looks like: every name bound in its modules, classes, containers and
    instance dictionaries (by identity, length and keys), without calling any user code."""
    seen: set[int] = set()
    prints: dict[str, object] = {}

    def visit(path: str, obj: object, depth: int) -> None:
        if id(obj) in seen or depth > DEPTH:
            return
        seen.add(id(obj))
        if isinstance(obj, (type, types.ModuleType)):
            if getattr(obj, "__module__", obj.__name__) not in names:
                return  # another package's class or module: not this package's state
            if isinstance(obj, type):
                prints[path + ".__subclasses__"] = len(type.__subclasses__(obj))
            items = list(vars(obj).items())
        else:
            items = []
            if isinstance(obj, dict):
                items += list(obj.items())
            elif isinstance(obj, (list, tuple)):
                items += list(enumerate(obj))
            if isinstance(obj, (set, frozenset, list, tuple)):
                prints[path + ".__len__"] = len(obj)
            try:  # object.__getattribute__ never falls back to a user __getattr__
                state = object.__getattribute__(obj, "__dict__")
            except Exception:
                state = None
            if isinstance(state, dict):
                items += [(f"__dict__.{k}", v) for k, v in state.items()]
        prints[path] = sorted(
            (k if isinstance(k, str) else f"<{type(k).__name__}>", id(v)) for k, v in items
        )
        for key, value in items:
            if not isinstance(value, (str, bytes, int, float, complex, bool, type(None))):
                label = (
                    key
                    if isinstance(key, str)
                    else f"[{key if isinstance(key, int) else type(key).__name__}]"
                )
                visit(f"{path}.{label}", value, depth + 1)

    names = {module.__name__ for module in modules}
    for module in modules:
        visit(module.__name__, module, 0)
    return prints


def main() -> None:
    warnings.simplefilter("ignore")
    modules, not_imported = import_package()
    foreign = {
        m.__name__: str(m.__file__)
        for m in modules
        if not Path(m.__file__ or "").resolve().is_relative_to(ROOT)
    }
    found = targets(modules)
    before = fingerprint(modules)
    order = sorted(found)
    random.Random(order_seed).shuffle(order)
    signatures: dict[str, str] = {}
    errors: dict[str, str] = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for key in order:
            try:
                step = Step(found[key])
                cold = step.code().digest
                warm = step.code().digest
                signatures[key] = cold if cold == warm else f"cold {cold} != warm {warm}"
            except Exception as exc:
                lines = traceback.format_exception(exc)
                errors[key] = f"{type(exc).__name__}: {exc}\n" + "".join(lines[-4:])
    after = fingerprint(modules)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    ours = [issubclass(w.category, SkipwiseWarning) for w in caught]
    texts = sorted({str(w.message) for w, mine in zip(caught, ours, strict=True) if mine})
    others = sorted(
        {
            f"{w.category.__name__}: {w.message}"
            for w, mine in zip(caught, ours, strict=True)
            if not mine
        }
    )
    print(
        json.dumps(
            {
                "signatures": signatures,
                "errors": errors,
                "not_imported": not_imported,
                "foreign": foreign,
                "warnings": texts,
                "other_warnings": others,
                "side_effects": changed,
            }
        )
    )


main()
