"""Source files of user code, parsed once: normalised ASTs to hash, raw text to show in diffs.

A definition is hashed as its AST with docstrings removed and positions left out, so comments,
docstrings, formatting and code elsewhere in the file never change a signature.
"""

from __future__ import annotations

import ast
import linecache
import os
import tokenize
from collections import defaultdict
from dataclasses import dataclass

from skipwise import hashing
from skipwise.memo import trim

_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


@dataclass(frozen=True)
class Definition:
    """A function, lambda or class found in a source file."""

    node: ast.AST
    text: str
    line: int


class ModuleSource:
    """One source file: its normalised tree and an index of definitions by qualified name."""

    def __init__(self, filename: str, lines: list[str]):
        self.filename = filename
        self.lines = lines
        self.tree = ast.parse("".join(lines), filename)
        _strip_docstrings(self.tree)
        self._by_qualname: dict[str, list[ast.AST]] = defaultdict(list)
        _index(self.tree, "", self._by_qualname)
        self._definitions: dict[tuple[str, int], Definition | None] = {}

    def definition(self, qualname: str, firstlineno: int | None) -> Definition | None:
        """The definition with this qualname; ``firstlineno`` picks one among redefinitions."""
        key = (qualname, firstlineno or 0)
        if key not in self._definitions:
            self._definitions[key] = self._find(qualname, firstlineno)
        return self._definitions[key]

    def _find(self, qualname: str, firstlineno: int | None) -> Definition | None:
        candidates = self._by_qualname.get(qualname, [])
        if firstlineno is not None:
            candidates = [n for n in candidates if _first_line(n) == firstlineno]
            if len(candidates) != 1:
                return None  # the file changed since import, or several lambdas on one line
        elif not candidates:
            return None
        node = candidates[-1]
        return Definition(node=node, text=self.text_of(node), line=_first_line(node))

    def bindings(self, name: str) -> list[ast.stmt]:
        """Top-level statements that bind ``name`` (for globals that cannot be hashed by value)."""
        found = []
        for stmt in self.tree.body:
            targets: list[ast.AST] = []
            if isinstance(stmt, ast.Assign):
                targets = stmt.targets
            elif isinstance(stmt, ast.AnnAssign | ast.AugAssign):
                targets = [stmt.target]
            elif isinstance(stmt, ast.With | ast.For | ast.If | ast.Try):
                targets = [stmt]
            if any(isinstance(n, ast.Name) and n.id == name for t in targets for n in ast.walk(t)):
                found.append(stmt)
        return found

    def statements_digest(self, statements: list[ast.stmt]) -> tuple[str, str, frozenset]:
        dumps = [ast.dump(stmt, annotate_fields=False) for stmt in statements]
        digest = hashing.digest_fields("statements", *dumps)
        text = "".join(self.text_of(s) for s in statements)
        chains: set[tuple[str, ...]] = set()
        for stmt in statements:
            chains |= _chains(ast.walk(stmt))
        return digest, text, frozenset(chains)

    def text_of(self, node: ast.AST) -> str:
        start = _first_line(node)
        end = getattr(node, "end_lineno", start) or start
        return "".join(self.lines[start - 1 : end])


# Parsed files by name, each with the (mtime, size) it was parsed at: a file is parsed again
# when it changes. Source is read rarely (a value hashed by its statements, a dynamic call to
# check, a diff), and a parsed file is large: only the latest 256 are kept.
_cache: dict[str, tuple[tuple[int, int] | None, ModuleSource | None]] = {}
_FILES = 256


def find_definition(
    filename: str | None, module_globals: dict | None, qualname: str, firstlineno: int | None
) -> Definition | None:
    """The definition of ``qualname`` in a source file, or None when there is no source."""
    module_src = module_source(filename, module_globals)
    return module_src.definition(qualname, firstlineno) if module_src else None


def unchanged_since_import(module: object) -> bool:
    """False when the module's file was edited after its bytecode was cached (at import): its
    statements on disk are then not the code that runs."""
    filename, cached = getattr(module, "__file__", None), getattr(module, "__cached__", None)
    try:
        return not (filename and cached and os.path.getmtime(filename) > os.path.getmtime(cached))
    except OSError:
        return True


def module_source(filename: str | None, module_globals: dict | None = None) -> ModuleSource | None:
    """The parsed source of ``filename``, cached until the file changes; None if unavailable."""
    if not filename:
        return None
    try:
        st = os.stat(filename)
        stamp: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
    except OSError:
        stamp = None  # notebooks and generated code live in linecache only
    cached = _cache.get(filename)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    lines = linecache.getlines(filename, module_globals) if stamp is None else _read(filename)
    source = None
    if lines:
        try:
            source = ModuleSource(filename, lines)
        except (SyntaxError, ValueError):
            source = None
    _cache.pop(filename, None)  # the newest goes last
    _cache[filename] = (stamp, source)
    trim(_cache, _FILES)
    return source


def _read(filename: str) -> list[str]:
    """A file's lines, read as linecache reads them but not kept there: linecache is a
    process-wide table that would hold every file ever signed."""
    try:
        with tokenize.open(filename) as file:
            lines = file.readlines()
    except (OSError, UnicodeDecodeError, SyntaxError):
        return []
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    return lines


def _first_line(node: ast.AST) -> int:
    decorators = getattr(node, "decorator_list", None)
    if decorators:
        return min(d.lineno for d in decorators)
    return node.lineno


def _index(node: ast.AST, prefix: str, out: dict[str, list[ast.AST]]) -> None:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, _DEFINITIONS):
            qualname = prefix + child.name
            out[qualname].append(child)
            inner = "." if isinstance(child, ast.ClassDef) else ".<locals>."
            _index(child, qualname + inner, out)
        elif isinstance(child, ast.Lambda):
            qualname = prefix + "<lambda>"
            out[qualname].append(child)
            _index(child, qualname + ".<locals>.", out)
        else:
            _index(child, prefix, out)


def _strip_docstrings(tree: ast.AST) -> None:
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                node.body = body[1:] or [ast.Pass()]


def _chains(nodes) -> set[tuple[str, ...]]:
    """Dotted name chains (``m.CONST`` -> ("m", "CONST")) loaded by the given AST nodes."""
    nodes = list(nodes)
    inner: set[int] = set()  # names and attributes that are part of a longer chain
    for node in nodes:
        if isinstance(node, ast.Attribute):
            inner.add(id(node.value))
    chains: set[tuple[str, ...]] = set()
    for node in nodes:
        if id(node) in inner:
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            chains.add((node.id,))
        elif isinstance(node, ast.Attribute):
            parts = [node.attr]
            value = node.value
            while isinstance(value, ast.Attribute):
                parts.append(value.attr)
                value = value.value
            if isinstance(value, ast.Name):
                chains.add((value.id, *reversed(parts)))
    return chains


_DYNAMIC_BUILTINS = {"eval", "exec", "compile", "__import__", "globals", "locals", "vars"}
_DYNAMIC_ATTRIBUTES = {"getattr", "setattr", "hasattr", "delattr"}
_BY_NAME_CALLERS = {"methodcaller", "attrgetter"}
DYNAMIC_NAMES = frozenset(
    {*_DYNAMIC_BUILTINS, *_DYNAMIC_ATTRIBUTES, *_BY_NAME_CALLERS, "import_module"}
)


def dynamic_calls(node: ast.AST) -> list[str]:
    """Calls whose targets static analysis cannot follow, as "line N: what"."""
    found = []
    for call in ast.walk(node):
        if not isinstance(call, ast.Call):
            continue
        func = call.func
        if isinstance(func, ast.Name) and func.id in _DYNAMIC_BUILTINS:
            found.append(f"line {call.lineno}: {func.id}()")
        elif (
            isinstance(func, ast.Name)
            and func.id in _DYNAMIC_ATTRIBUTES
            and len(call.args) >= 2
            and not isinstance(call.args[1], ast.Constant)
        ):
            found.append(f"line {call.lineno}: {func.id}() with a computed name")
        elif isinstance(func, ast.Attribute) and func.attr == "import_module":
            found.append(f"line {call.lineno}: importlib.import_module()")
        elif (
            (getattr(func, "id", None) or getattr(func, "attr", None)) in _BY_NAME_CALLERS
            and call.args
            and not all(isinstance(a, ast.Constant) for a in call.args)
        ):
            name = getattr(func, "id", None) or getattr(func, "attr", None)
            found.append(f"line {call.lineno}: {name}() with a computed name")
    return found
