"""Importing what ``skipwise plan`` and ``explain`` read: a module by file path or name, the
way an orchestrator parses a DAG file, with nothing of the pipeline run.

While a target is imported its cached calls are recorded, not run (:mod:`skipwise.recording`),
and what it prints goes to stderr, so stdout carries only the plan. A mistake in the target
(a missing file, a syntax error, an exception at import) is one :class:`SkipwiseError` naming
the file and line; the original exception is its cause.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import pkgutil
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

from skipwise import config, extras
from skipwise.errors import SkipwiseError
from skipwise.plan import Target, discover
from skipwise.recording import Recording, recording


def targets_of(target: str) -> list[Target]:
    """The targets of a module or file, with the calls it makes while imported."""
    with quietly() as recorded:
        return discover(load_module(target), recorded)


def targets_defining(name: str, module_name: str) -> list[Target]:
    """The targets of the first module that has one named (or labelled) ``name``: the module
    ``module_name``, else a module of its package whose source mentions skipwise (a cached
    function is often made from a function of a sibling module: ``pipeline.py`` over
    ``steps.py``). A sibling that fails to import cannot be the one and is passed over."""
    with quietly() as recorded:
        targets = discover(_load_named(module_name), recorded)
        if _found(name, targets):
            return targets
        for sibling in _siblings(module_name):
            with contextlib.suppress(SkipwiseError):
                targets = discover(load_module(sibling), recorded)
                if _found(name, targets):
                    return targets
    return []


def _load_named(name: str) -> ModuleType:
    """Import module ``name``; if it cannot be found from here, from its file in a folder
    below the project root (``dags/taxi/steps.py`` for ``taxi.steps``), as plan would."""
    try:
        return load_module(name)
    except SkipwiseError as exc:
        path = _below_project_root(name)
        if path is None or not isinstance(exc.__cause__, ModuleNotFoundError):
            raise
    return load_module(str(path))


def _below_project_root(name: str) -> Path | None:
    """The file of module ``name`` in the project root or a folder one or two levels below
    it (not a hidden one, such as ``.venv``)."""
    root = config.project_root(Path.cwd())
    relative = Path(*name.split("."))
    for pattern in (f"{relative}.py", f"{relative}/__init__.py"):
        for depth in range(3):
            for found in sorted(root.glob("*/" * depth + pattern)):
                if not any(part.startswith(".") for part in found.relative_to(root).parts):
                    return found
    return None


def _found(name: str, targets: list[Target]) -> bool:
    return any(name in (t.name, t.label) for t in targets)


def _siblings(module_name: str) -> list[str]:
    """The other modules of ``module_name``'s package that mention skipwise."""
    package = module_name.rpartition(".")[0]
    if not package:
        return []
    found = []
    for info in pkgutil.iter_modules(load_module(package).__path__, package + "."):
        spec = importlib.util.find_spec(info.name)
        origin = spec.origin if spec is not None and info.name != module_name else None
        if origin and origin.endswith(".py") and "skipwise" in Path(origin).read_text("utf-8"):
            found.append(info.name)
    return found


@contextlib.contextmanager
def quietly() -> Iterator[Recording]:
    """Cached calls recorded, prints on stderr: what importing a target may do."""
    with recording() as recorded, contextlib.redirect_stdout(sys.stderr):
        yield recorded


def load_module(target: str) -> ModuleType:
    """Import a module by dotted name or by file path (its folder goes on ``sys.path``)."""
    path = Path(target)
    if path.suffix == ".py" or path.exists():
        if not path.exists():
            raise SkipwiseError(f"no such file: {target}")
        name, folder = _module_of(path.resolve())
    else:
        name, folder = target, Path.cwd()
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    try:
        return importlib.import_module(name)
    except SyntaxError as exc:
        where = _relative(Path(exc.filename or target), folder)
        raise SkipwiseError(f"syntax error in {where}, line {exc.lineno}: {exc.msg}") from exc
    except ModuleNotFoundError as exc:
        hint = extras.hint(exc)
        if hint:
            raise SkipwiseError(f"{target}: {hint}") from exc
        if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
            raise SkipwiseError(f"no module named {exc.name!r} (from {folder})") from exc
        raise _failed(target, exc, folder) from exc
    except Exception as exc:
        raise _failed(target, exc, folder) from exc


def _module_of(path: Path) -> tuple[str, Path]:
    """The dotted name of a file and the folder to import it from (above its packages)."""
    if path.is_dir():
        path = path / "__init__.py"
    parts = [path.stem] if path.name != "__init__.py" else []
    folder = path.parent
    while (folder / "__init__.py").exists():
        parts.insert(0, folder.name)
        folder = folder.parent
    return ".".join(parts), folder


def _failed(target: str, exc: BaseException, folder: Path) -> SkipwiseError:
    """The exception a target raised while imported, and the deepest line of it in the
    target's folder (where the user can fix it)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if _inside(f.filename, folder)]
    where = ""
    if frames:
        where = f" ({_relative(Path(frames[-1].filename), folder)}, line {frames[-1].lineno})"
    return SkipwiseError(f"importing {target} failed: {type(exc).__name__}: {exc}{where}")


def _inside(filename: str, folder: Path) -> bool:
    return Path(filename).resolve().is_relative_to(folder)


def _relative(path: Path, folder: Path) -> str:
    resolved = path.resolve()
    return str(resolved.relative_to(folder)) if resolved.is_relative_to(folder) else str(path)
