"""Replay a real project's git history as edits, and count stale and wasted signatures.

Each commit on the first-parent line that touches the package's ``.py`` files is one version.
Every version is extracted as user code into its own checkout (two alternating checkout roots,
so consecutive versions also differ in path) and signed in a fresh process with a random hash
seed by ``tests/realcode/sign_package.py``: every public function and every public method of a
public class. For each pair of consecutive versions and each target present in both:

- *signature changed*: the code digest differs;
- *reach changed* (the ground truth proxy): an independent, AST-based reachability of the
  target (below) differs: the set of package definitions it reaches, or the normalised AST
  (docstrings and positions left out) of any of them.

``stale`` = reach changed, signature same (a result would be served although code it uses
changed), unless every changed definition compiles (CPython's compiler, positions left out) to
the same code as before: then ``equivalent`` (``else:`` after ``return`` dropped, say).
``waste`` = signature changed, reach same (a needless rerun). Both are *candidates*:
the proxy over-approximates (a name counts wherever it is bound, an attribute name counts for
every class it reaches), so each stale candidate is printed with the definitions that changed,
to be judged by hand. With ``--annotations-count`` left off, annotation-only edits are not
counted as reach changes (they change behaviour only for code that reads annotations).

The reachability: from the target's definition, every name it loads resolves to the module-level
statements binding it in that module (imports inside the package followed to the binding module,
``from m import *`` followed); ``a.b`` where ``a`` is a package module resolves in that module;
a class reached contributes its header (bases, decorators, class-level statements) and its
methods that are dunder or whose name is loaded as an attribute (or is a string constant) in
reached code, to a fixpoint. It shares no code with skipwise.

    .venv/bin/python bench/replay_history.py [GIT_DIR SOURCE PACKAGE] [--limit N] [--runs FILE]

Without GIT_DIR, humanize is cloned from GitHub (the project the figures in docs/signatures.md
come from: ``GIT_DIR src/humanize humanize``).

The fetched project is read with ``git archive`` into a temporary folder and never copied here.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import copy
import dataclasses
import difflib
import hashlib
import io
import itertools
import json
import subprocess
import sys
import tarfile
import tempfile
import types
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.realcode.harness import Run, finish, start

HUMANIZE = "https://github.com/python-humanize/humanize.git"


def versions(git_dir: Path, source: str, limit: int) -> list[str]:
    """Commits (oldest first) on the first-parent line that touch ``source``'s Python files."""
    out = subprocess.run(
        [
            "git",
            "--git-dir",
            str(git_dir),
            "log",
            "--first-parent",
            "--format=%H",
            "--",
            f"{source}/*.py",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return list(reversed(out[:limit]))


def extract(git_dir: Path, commit: str, source: str, package: str, root: Path) -> Path:
    """The package at ``commit`` as ``root/package``, importable (stub version metadata: the
    project's version file is generated at build time)."""
    archive = subprocess.run(
        ["git", "--git-dir", str(git_dir), "archive", commit, source],
        check=True,
        capture_output=True,
    ).stdout
    target = root / package
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for member in tar.getmembers():
            if member.isfile() and member.name.startswith(source + "/"):
                path = target / member.name[len(source) + 1 :]
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(tar.extractfile(member).read())  # type: ignore[union-attr]
    (target / "_version.py").exists() or (target / "_version.py").write_text(
        '__version__ = version = "0.0"\n'
    )
    info = root / f"{package}-0.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: 0.0\n")
    return root


# --- the independent reachability --------------------------------------------------------


class _Normalise(ast.NodeTransformer):
    """Docstrings out; annotations out too unless they count."""

    def __init__(self, annotations: bool):
        self.annotations = annotations

    def _body(self, node: ast.AST) -> ast.AST:
        body = node.body  # type: ignore[attr-defined]
        first = body[0].value if body and isinstance(body[0], ast.Expr) else None
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            node.body = body[1:] or [ast.Pass()]  # type: ignore[attr-defined]
        return self.generic_visit(node)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        if not self.annotations:
            node.returns = None
            for arg in [*node.args.args, *node.args.posonlyargs, *node.args.kwonlyargs]:
                arg.annotation = None
            for arg in (node.args.vararg, node.args.kwarg):
                if arg is not None:
                    arg.annotation = None
        return self._body(node)

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]
    visit_ClassDef = _body  # type: ignore[assignment]

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST:
        if self.annotations or node.value is None:
            return self.generic_visit(node)
        assign = ast.Assign(targets=[node.target], value=node.value, type_comment=None)
        return self.generic_visit(ast.copy_location(assign, node))


@dataclass
class _Module:
    name: str
    bindings: dict[str, list[ast.stmt]] = field(default_factory=dict)
    classes: dict[str, ast.ClassDef] = field(default_factory=dict)
    stars: list[str] = field(default_factory=list)


def _top_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Module-level statements, including those under top-level if/try/with."""
    for stmt in body:
        if isinstance(stmt, (ast.If, ast.Try, ast.With)):
            yield from _top_level(stmt.body)
            yield from _top_level(getattr(stmt, "orelse", []))
            yield from _top_level(getattr(stmt, "finalbody", []))
            for handler in getattr(stmt, "handlers", []):
                yield from _top_level(handler.body)
        else:
            yield stmt


def _bound_names(stmt: ast.stmt) -> list[str]:
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [stmt.name]
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return [a.asname or a.name.partition(".")[0] for a in stmt.names if a.name != "*"]
    targets = stmt.targets if isinstance(stmt, ast.Assign) else [getattr(stmt, "target", None)]
    return [n.id for t in targets if t is not None for n in ast.walk(t) if isinstance(n, ast.Name)]


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _own_scope(nodes: list[ast.AST]) -> Iterator[ast.AST]:
    """Nodes of one scope: not inside nested functions, classes or comprehensions."""
    for node in nodes:
        yield node
        if not isinstance(node, (*_SCOPES, *_COMPREHENSIONS)):
            yield from _own_scope(list(ast.iter_child_nodes(node)))


def _stored(nodes: list[ast.AST]) -> set[str]:
    """Names a scope binds (Python's rule: bound anywhere in a scope, local in all of it)."""
    names: set[str] = set()
    declared: set[str] = set()
    for node in _own_scope(nodes):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update(a.asname or a.name.partition(".")[0] for a in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            declared.update(node.names)
    return names - declared


def _global_loads(unit: ast.AST) -> set[int]:
    """The ``Name`` nodes of a unit that read a module global (not a local of any enclosing
    function, comprehension or lambda), by identity."""
    found: set[int] = set()

    def visit(node: ast.AST, local: frozenset[str]) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            arguments = node.args
            outer = [*arguments.defaults, *(d for d in arguments.kw_defaults if d is not None)]
            if not isinstance(node, ast.Lambda):
                outer += [*node.decorator_list, *([node.returns] if node.returns else [])]
            every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
            every += [a for a in (arguments.vararg, arguments.kwarg) if a is not None]
            outer += [a.annotation for a in every if a.annotation is not None]
            for child in outer:
                visit(child, local)
            body = node.body if isinstance(node.body, list) else [node.body]
            inner = local | {a.arg for a in every} | _stored(body)
            for child in body:
                visit(child, frozenset(inner))
        elif isinstance(node, ast.ClassDef):
            for child in [*node.decorator_list, *node.bases, *node.keywords]:
                visit(child, local)
            for child in node.body:  # class-level names are not visible inside its methods
                visit(child, local if isinstance(child, _SCOPES) else local | _stored(node.body))
        elif isinstance(node, _COMPREHENSIONS):
            targets = {
                n.id for g in node.generators for n in ast.walk(g.target) if isinstance(n, ast.Name)
            }
            for child in ast.iter_child_nodes(node):
                visit(child, local | targets)
        elif isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load) and node.id not in local:
                found.add(id(node))
        else:
            for child in ast.iter_child_nodes(node):
                visit(child, local)

    visit(unit, frozenset())
    return found


class Reach:
    """What each definition of one version of a package reaches, by AST alone."""

    def __init__(self, root: Path, package: str, annotations: bool):
        self.package, self.annotations = package, annotations
        self.modules: dict[str, _Module] = {}
        self.units: dict[str, ast.AST] = {}  # unit key -> normalised AST
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            module = self.modules[name] = _Module(name)
            for stmt in _top_level(ast.parse(path.read_text()).body):
                for bound in _bound_names(stmt):
                    module.bindings.setdefault(bound, []).append(stmt)
                if isinstance(stmt, ast.ClassDef):
                    module.classes[stmt.name] = stmt
                if isinstance(stmt, ast.ImportFrom) and any(a.name == "*" for a in stmt.names):
                    module.stars.append(self._absolute(module.name, stmt, path.name))

    def _absolute(self, module: str, stmt: ast.ImportFrom, filename: str) -> str:
        if not stmt.level:
            return stmt.module or ""
        base = module.split(".")
        base = base if filename == "__init__.py" else base[:-1]
        base = base[: len(base) - stmt.level + 1]
        return ".".join(base + ([stmt.module] if stmt.module else []))

    def _filename(self, module: str) -> str:
        return "__init__.py" if any(m.startswith(module + ".") for m in self.modules) else "x.py"

    def normalised(self, key: str, node: ast.AST) -> ast.AST:
        """The unit's AST as it counts: no docstrings (nor annotations, unless they count)."""
        if key not in self.units:
            self.units[key] = _Normalise(self.annotations).visit(copy.deepcopy(node))
        return self.units[key]

    def resolve(self, module: str, name: str, seen: frozenset = frozenset()) -> list[tuple]:
        """Units ``(module, name)`` a global name of ``module`` stands for."""
        if (module, name) in seen or module not in self.modules:
            return []
        seen = seen | {(module, name)}
        found: list[tuple] = []
        statements = self.modules[module].bindings.get(name)
        if statements is None:
            for star in self.modules[module].stars:
                found += self.resolve(star, name, seen)
            if f"{module}.{name}" in self.modules:  # a submodule, an attribute of its package
                found.append(("module", f"{module}.{name}"))
            return found
        found.append((module, name))
        for stmt in statements:
            if isinstance(stmt, ast.ImportFrom):
                source = self._absolute(module, stmt, self._filename(module))
                for alias in stmt.names:
                    if (alias.asname or alias.name) == name:
                        found += self.resolve(source, alias.name, seen)
            elif isinstance(stmt, ast.Import):
                for alias in stmt.names:
                    if (alias.asname or alias.name.partition(".")[0]) == name:
                        target = alias.name if alias.asname else alias.name.partition(".")[0]
                        found.append(("module", target))
        return found

    def _imported(self, module: str, stmt: ast.Import | ast.ImportFrom, name: str) -> str:
        """What an import statement binds ``name`` to: ``module.attribute``."""
        if isinstance(stmt, ast.Import):
            alias = next(a for a in stmt.names if (a.asname or a.name.partition(".")[0]) == name)
            return alias.name if alias.asname else alias.name.partition(".")[0]
        source = self._absolute(module, stmt, self._filename(module))
        alias = next(a for a in stmt.names if (a.asname or a.name) == name)
        return f"{source}.{alias.name}"

    def _module_of(self, module: str, expr: ast.expr) -> str | None:
        """The package module ``expr`` names (``number``, ``humanize.number``), if any."""
        if isinstance(expr, ast.Name):
            units = self.resolve(module, expr.id)
            names = [n for kind, n in units if kind == "module" and n in self.modules]
            return names[0] if names else None
        if isinstance(expr, ast.Attribute):
            base = self._module_of(module, expr.value)
            if base and f"{base}.{expr.attr}" in self.modules:
                return f"{base}.{expr.attr}"
        return None

    def closure(self, module: str, qualname: str) -> dict[str, str]:
        """Every unit the definition ``module:qualname`` reaches, by key, with its dump."""
        reached: dict[str, str] = {}
        classes: set[tuple[str, str]] = set()
        attributes: set[str] = set()
        todo: list[tuple[str, str, ast.AST]] = []  # (module, key, node)

        def add(unit_module: str, key: str, node: ast.AST) -> None:
            if key not in reached:
                node = self.normalised(key, node)
                reached[key] = ast.dump(node, include_attributes=False)
                todo.append((unit_module, key, node))

        def add_name(unit_module: str, name: str) -> None:
            for kind, target in self.resolve(unit_module, name):
                if kind == "module":
                    continue
                for i, stmt in enumerate(self.modules[kind].bindings[target]):
                    key = f"{kind}:{target}#{i}"
                    if isinstance(stmt, ast.ClassDef):
                        classes.add((kind, stmt.name))
                        header = copy.copy(stmt)
                        header.body = [s for s in stmt.body if not isinstance(s, ast.FunctionDef)]
                        add(kind, key, header)
                    elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
                        # Only what the name is bound to (its target is followed by resolve):
                        # splitting one import statement into three changes nothing.
                        reached[key] = f"import {self._imported(kind, stmt, target)}"
                    else:
                        add(kind, key, stmt)

        cls, _, method = qualname.rpartition(".")
        if cls:
            node = next(
                s
                for s in self.modules[module].classes[cls].body
                if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and s.name == method
            )
            add(module, f"{module}:{qualname}", node)
            add_name(module, cls)
        else:
            add_name(module, qualname)
        while todo:
            while todo:
                unit_module, _, node = todo.pop()
                free = _global_loads(node)
                for sub in ast.walk(node):
                    if isinstance(sub, ast.Name) and id(sub) in free:
                        add_name(unit_module, sub.id)
                    elif isinstance(sub, ast.Attribute):
                        attributes.add(sub.attr)
                        base = sub.value
                        while isinstance(base, ast.Attribute):
                            base = base.value
                        owner = self._module_of(unit_module, sub.value)
                        if owner and isinstance(base, ast.Name) and id(base) in free:
                            add_name(owner, sub.attr)
                    elif isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                        attributes.add(sub.value)
            for mod, name in sorted(classes):
                for stmt in self.modules[mod].classes[name].body:
                    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        dunder = stmt.name.startswith("__") and stmt.name.endswith("__")
                        if dunder or stmt.name in attributes:
                            add(mod, f"{mod}:{name}.{stmt.name}", stmt)
        return reached


def digest(units: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(sorted(units.items())).encode()).hexdigest()


# --- the replay ---------------------------------------------------------------------------


@dataclass
class Version:
    commit: str
    root: Path
    run: Run | None = None
    reach: dict[str, dict[str, str]] = field(default_factory=dict)  # target -> units
    texts: dict[str, str] = field(default_factory=dict)  # unit -> its normalised source
    failure: str = ""


def sign(version: Version, package: str) -> None:
    try:
        version.run = finish(start(version.root, package), timeout=1800)
    except AssertionError as exc:  # this version does not import here (a missing dependency)
        version.failure = str(exc).splitlines()[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("git_dir", type=Path, nargs="?", help="default: clone humanize")
    parser.add_argument("source", nargs="?", default="src/humanize", help="the package folder")
    parser.add_argument("package", nargs="?", default="humanize")
    parser.add_argument("--limit", type=int, default=200, help="newest N versions")
    parser.add_argument("--annotations-count", action="store_true")
    parser.add_argument("--explain", action="store_true", help="diff what changed, when stale")
    parser.add_argument("--json", type=Path, help="write every judgement here")
    parser.add_argument(
        "--runs", type=Path, help="signing results: read if the file exists, else written"
    )
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if options.git_dir is None:
            options.git_dir = Path(tmp) / "project.git"
            clone = ["git", "clone", "--quiet", "--bare", HUMANIZE, str(options.git_dir)]
            if subprocess.run(clone).returncode:
                sys.exit(f"cannot clone {HUMANIZE}: pass the git directory of a clone")
        commits = versions(options.git_dir, options.source, options.limit)
        history = [
            Version(c, extract(options.git_dir, c, options.source, options.package, root))
            for i, c in enumerate(commits)
            for root in [Path(tmp) / ("checkout" if i % 2 else "teammate") / f"v{i:04d}"]
        ]
        if options.runs and options.runs.exists():  # judge again without signing again
            saved = json.loads(options.runs.read_text())
            for version in history:
                run = saved.get(version.commit)
                version.run = Run(**run) if run else None
        else:
            with ThreadPoolExecutor(2) as pool:
                list(pool.map(lambda v: sign(v, options.package), history))
            if options.runs:
                runs = {v.commit: v.run and dataclasses.asdict(v.run) for v in history}
                options.runs.write_text(json.dumps(runs))
        for version in history:
            if version.run is None:
                continue
            reach = Reach(version.root, options.package, options.annotations_count)
            for target in version.run.signatures:
                module, _, qualname = target.partition(":")
                with contextlib.suppress(KeyError, StopIteration):  # made at run time: no AST
                    version.reach[target] = reach.closure(module, qualname)
            version.texts = {key: ast.unparse(node) for key, node in reach.units.items()}
    return report(history, options.json, options.explain)


def explain(old: Version, new: Version, units: list[str]) -> Iterator[str]:
    """The changed units, as a diff of their normalised source."""
    for unit in units:
        before = old.texts.get(unit, "").splitlines()
        after = new.texts.get(unit, "").splitlines()
        yield from (
            "      " + line
            for line in difflib.unified_diff(before, after, unit, unit, n=1, lineterm="")
        )


def _compiled(text: str) -> tuple:
    """What CPython compiles a unit's normalised source to, without positions."""

    def shape(code: types.CodeType) -> tuple:
        consts = tuple(
            shape(c) if isinstance(c, types.CodeType) else (type(c).__name__, repr(c))
            for c in code.co_consts
        )
        return (code.co_code, code.co_names, code.co_varnames, code.co_flags, consts)

    return shape(compile(text, "<unit>", "exec"))


def equivalent(old: Version, new: Version, units: list[str]) -> bool:
    """Whether every changed unit compiles to the same code (``else`` after ``return``
    dropped, say): then the edit cannot change what the target does."""
    return all(
        unit in old.texts
        and unit in new.texts
        and _compiled(old.texts[unit]) == _compiled(new.texts[unit])
        for unit in units
    )


def report(history: list[Version], json_path: Path | None, show: bool) -> int:
    counts = dict.fromkeys(["same", "rerun", "stale", "equivalent", "waste"], 0)
    judged: list[dict] = []
    crashes = sum(bool(v.run and v.run.errors) for v in history)
    skipped = [v.commit[:10] for v in history if v.run is None]
    edits = 0
    for old, new in itertools.pairwise(history):
        if old.run is None or new.run is None:
            continue
        edits += 1
        for target in sorted(old.reach.keys() & new.reach.keys()):
            signed = old.run.signatures[target] != new.run.signatures[target]
            reached = digest(old.reach[target]) != digest(new.reach[target])
            verdict = {
                (False, False): "same",
                (True, True): "rerun",
                (False, True): "stale",
                (True, False): "waste",
            }[signed, reached]
            changed = sorted(
                k
                for k in old.reach[target].keys() | new.reach[target].keys()
                if old.reach[target].get(k) != new.reach[target].get(k)
            )
            if verdict == "stale" and equivalent(old, new, changed):
                verdict = "equivalent"  # the AST changed, the compiled code did not
            counts[verdict] += 1
            if verdict in ("stale", "waste"):
                judged.append(
                    {"commit": new.commit, "target": target, "verdict": verdict, "units": changed}
                )
                if show and verdict == "stale":
                    judged[-1]["diff"] = list(explain(old, new, changed))
    print(f"versions: {len(history)} ({len(skipped)} not importable: {skipped})")
    print(f"edits: {edits}; versions with a signing exception: {crashes}")
    print("target-edits: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    for item in judged:
        units = ", ".join(item["units"][:4]) or "(nothing in reach changed)"
        print(f"  {item['verdict']} {item['commit'][:10]} {item['target']}: {units}")
        print("\n".join(item.get("diff", [])[:40]))
    if json_path:
        json_path.write_text(json.dumps({"counts": counts, "judged": judged}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
