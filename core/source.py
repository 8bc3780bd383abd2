"""Source files of user code, parsed once: normalised ASTs to hash, raw text to show in diffs.

A definition is hashed as its AST with docstrings removed and positions left out, so comments,
docstrings, formatting and code elsewhere in the file never change a signature.
"""

from __future__ import annotations

import ast
import functools
import linecache
import os
import sys
import time
import tokenize
import typing
from collections import defaultdict
from collections.abc import Iterable, Iterator
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


@dataclass(frozen=True)
class TopStatement:
    """A module-level statement that may put something into a container at import time."""

    index: int  # its position in the module
    digest: str  # its normalised AST; for a decorated definition, the header (not the body)
    text: str
    binds: frozenset[str]  # names it assigns
    receivers: frozenset[tuple[str, ...]]  # what it writes into: `X[k] = v`, `X.update(...)`
    callees: frozenset[tuple[str, ...]]  # what it calls or decorates with at import time
    reads: frozenset[tuple[str, ...]]  # every name chain it loads: its inputs
    defines: str | None  # the name a decorated function or a class statement binds


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
        self._top: tuple[TopStatement, ...] | None = None

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
        return _bindings(self.tree.body, name)

    def class_bindings(self, qualname: str, name: str) -> list[ast.stmt]:
        """Statements of a class body that bind ``name`` (a class attribute)."""
        definition = self.definition(qualname, None)
        if definition is None or not isinstance(definition.node, ast.ClassDef):
            return []
        return _bindings(definition.node.body, name)

    def top_statements(self) -> tuple[TopStatement, ...]:
        """The module-level statements that can bind or fill a container at import time."""
        if self._top is None:
            self._top = tuple(
                top
                for i, stmt in enumerate(self.tree.body)
                if (top := self._top_statement(i, stmt))
            )
        return self._top

    def _top_statement(self, index: int, stmt: ast.stmt) -> TopStatement | None:
        if isinstance(stmt, ast.Import | ast.ImportFrom | ast.Expr) and not _calls(stmt):
            return None
        definition = isinstance(stmt, _DEFINITIONS)
        if definition and not (stmt.decorator_list or isinstance(stmt, ast.ClassDef)):
            return None  # a plain def runs nothing at import time
        run = list(_run_at_import(stmt))
        receivers = {c for node in run if (c := _written_chain(node))}
        callees = {c for node in run if isinstance(node, ast.Call) and (c := _chain_of(node.func))}
        if definition:
            callees |= {c for d in stmt.decorator_list if (c := _chain_of(d))}
            header = [*stmt.decorator_list, *getattr(stmt, "bases", ())]
            header += getattr(stmt, "keywords", ())
            dump = stmt.name + ":" + "|".join(ast.dump(n, annotate_fields=False) for n in header)
            reads = _chains(n for h in header for n in ast.walk(h))
        else:
            dump = ast.dump(stmt, annotate_fields=False)
            reads = _chains(ast.walk(stmt))
        binds = (
            set()
            if definition
            else {n.id for n in run if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        )
        if not (binds or receivers or callees or definition):
            return None
        return TopStatement(
            index=index,
            digest=hashing.digest_fields("statement", dump),
            text=self.text_of(stmt),
            binds=frozenset(binds),
            receivers=frozenset(receivers),
            callees=frozenset(callees),
            reads=frozenset(reads),
            defines=stmt.name if definition else None,
        )

    def imports_of(self, name: str) -> list[tuple[str, int, str]]:
        """Top-level ``from M import X [as name]`` (and ``from M import *``) statements that may
        bind ``name``, as (module, level, name in M), in source order: where a value bound
        elsewhere and imported here comes from."""
        found = []
        for stmt in _top_level(self.tree.body):
            if not isinstance(stmt, ast.ImportFrom):
                continue
            for alias in stmt.names:
                if alias.name == "*" or (alias.asname or alias.name) == name:
                    original = name if alias.name == "*" else alias.name
                    found.append((stmt.module or "", stmt.level, original))
        return found

    def statements_digest(self, statements: list[ast.stmt]) -> tuple[str, str, frozenset]:
        dumps = [ast.dump(stmt, annotate_fields=False) for stmt in statements]
        digest = hashing.digest_fields("statements", *dumps)
        text = "".join(self.text_of(s) for s in statements)
        return digest, text, frozenset(expression_chains(*statements))

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
    """False when the module's file was written after the module ran: its statements on disk
    are then not the code that runs. When a module ran is seen as it happens (an audit hook:
    every module body runs through ``exec``); a module that ran before skipwise was imported
    ran before :data:`_STARTED`. (A cached bytecode file's age tells nothing: another process
    importing the edited file writes it anew, and without one it cannot tell at all.)"""
    filename = getattr(module, "__file__", None)
    if not filename:
        return True
    try:
        written = os.stat(filename).st_mtime_ns
    except OSError:
        return True  # no file: nothing on disk stands for the module's statements
    return written <= _executed.get(filename, _STARTED)


# When each module body ran last, by file name (the code object's co_filename, which is the
# module's __file__), and when this module was imported: what ran earlier ran before then.
_executed: dict[str, int] = {}
_STARTED = time.time_ns()


def _note_module_run(event: str, args: tuple[object, ...]) -> None:
    if event == "exec" and getattr(args[0], "co_name", None) == "<module>":
        _executed[args[0].co_filename] = time.time_ns()  # type: ignore[attr-defined]


sys.addaudithook(_note_module_run)


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


def _top_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """A module's statements, including those inside top-level ``if``/``try``/``with`` blocks
    (``if TYPE_CHECKING:``, ``try: from fast import X``)."""
    for stmt in body:
        yield stmt
        if isinstance(stmt, ast.If | ast.Try | ast.TryStar | ast.With):
            for block in ("body", "orelse", "finalbody"):
                yield from _top_level(getattr(stmt, block, []))
            for handler in getattr(stmt, "handlers", []):
                yield from _top_level(handler.body)


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


def expression_chains(*nodes: ast.AST) -> set[tuple[str, ...]]:
    """Dotted name chains the given expressions (and statements) load."""
    return _chains(sub for node in nodes for sub in ast.walk(node))


def _bindings(body: list[ast.stmt], name: str) -> list[ast.stmt]:
    found = []
    for stmt in body:
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


# Methods that change a container in place (`X.update(...)`).
MUTATORS = frozenset(
    {"append", "extend", "insert", "remove", "pop", "popitem", "clear", "update", "setdefault"}
    | {"add", "discard", "sort", "reverse", "__setitem__", "__delitem__"}
)


def _calls(stmt: ast.stmt) -> bool:
    return any(isinstance(n, ast.Call) for n in ast.walk(stmt))


def _run_at_import(node: ast.AST):
    """The nodes of a module-level statement that run when the module is imported: not the
    bodies of functions and lambdas (a class body runs)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if isinstance(current, ast.FunctionDef | ast.AsyncFunctionDef):
            stack += [*current.decorator_list, *current.args.defaults]
            stack += [d for d in current.args.kw_defaults if d is not None]
        elif isinstance(current, ast.Lambda):
            stack += [*current.args.defaults, *(d for d in current.args.kw_defaults if d)]
        else:
            stack += ast.iter_child_nodes(current)


def _written_chain(node: ast.AST) -> tuple[str, ...]:
    """The container a node writes into in place: `X[k] = v`, `del X[k]`, `X.update(...)`."""
    if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store | ast.Del):
        return _chain_of(node.value)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in MUTATORS
    ):
        return _chain_of(node.func.value)
    return ()


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


def annotation_chains(annotations: Iterable[object]) -> list[tuple[str, ...]]:
    """Name chains that postponed annotations (strings, ``ForwardRef``, also inside
    ``list["Node"]``) would load when evaluated, as ``typing.get_type_hints`` does."""
    chains: set[tuple[str, ...]] = set()
    for text in _annotation_texts(annotations, 0):
        chains |= _expression_chains(text)
    return sorted(chains)


def _annotation_texts(values: Iterable[object], depth: int) -> Iterator[str]:
    for value in values:
        if isinstance(value, str):
            yield value
        elif isinstance(value, typing.ForwardRef):
            yield value.__forward_arg__
        elif depth < 20 and isinstance(value, tuple | list):
            yield from _annotation_texts(value, depth + 1)
        elif depth < 20 and typing.get_origin(value) not in (None, typing.Literal):
            args = typing.get_args(value)  # Annotated[T, ...]: what follows T is metadata
            yield from _annotation_texts(
                args[:1] if typing.get_origin(value) is typing.Annotated else args, depth + 1
            )


@functools.lru_cache(maxsize=4096)  # annotation texts repeat ("int", "pd.DataFrame")
def _expression_chains(text: str) -> frozenset[tuple[str, ...]]:
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError):
        return frozenset()  # documentation, not an expression: only its text counts
    return frozenset(expression_chains(tree))


_DYNAMIC_BUILTINS = {"eval", "exec", "compile", "__import__", "globals", "locals", "vars"}
_DYNAMIC_ATTRIBUTES = {"getattr", "setattr", "hasattr", "delattr"}
_READING_ATTRIBUTES = {"getattr", "hasattr"}  # a prefix found in their name is followed
_BY_NAME_CALLERS = {"methodcaller", "attrgetter"}
DYNAMIC_NAMES = frozenset(
    {*_DYNAMIC_BUILTINS, *_DYNAMIC_ATTRIBUTES, *_BY_NAME_CALLERS, "import_module"}
    | {"__subclasses__", "__dict__", "modules"}
)


def attribute_lines(code, module_globals: dict | None, name: str) -> str:
    """Where a function loads the attribute ``name`` ("line 12, 14"), for warnings."""
    definition = find_definition(
        code.co_filename, module_globals, code.co_qualname, code.co_firstlineno
    )
    lines = sorted(
        {n.lineno for n in ast.walk(definition.node) if getattr(n, "attr", None) == name}
        if definition
        else set()
    )
    return ", ".join(f"line {n}" for n in lines) or f"line {code.co_firstlineno}"


OWN_MODULE = ("<module>",)  # a dispatch target: the module the code is defined in


@dataclass(frozen=True)
class DynamicCall:
    """A call static analysis cannot follow. A name computed from a literal prefix
    (``getattr(self, f"_on_{kind}")``) comes with the prefix and what it is looked up on:
    a global dotted name, :data:`OWN_MODULE`, or ``()`` (a local value: members of classes)."""

    what: str  # "line N: getattr() with a computed name"
    prefix: str = ""
    target: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        return (
            f"{self.what} (all names starting {self.prefix!r} are included)"
            if self.prefix
            else self.what
        )


def dynamic_calls(node: ast.AST) -> list[DynamicCall]:
    """Calls whose targets static analysis cannot follow, in source order."""
    found = []
    local_names = _local_names(node)
    followed: set[int] = set()  # own-module lookups whose computed name has a prefix
    for call in ast.walk(node):
        if (
            isinstance(call, ast.Subscript)
            and isinstance(call.value, ast.Attribute)
            and call.value.attr == "__dict__"
            and not isinstance(call.slice, ast.Constant)
        ):
            found.append(DynamicCall(f"line {call.lineno}: __dict__[...] with a computed name"))
        if (
            isinstance(call, ast.Subscript)
            and _is_sys_modules(call.value)
            and id(call) not in followed
        ):
            found.append(DynamicCall(f"line {call.lineno}: a module looked up in sys.modules"))
        if isinstance(call, ast.Subscript) and _is_globals_call(call.value):
            prefix = literal_prefix(call.slice)  # globals()[f"step_{x}"]
            if prefix:
                followed.add(id(call.value))
                found.append(DynamicCall(f"line {call.lineno}: globals()[...]", prefix, OWN_MODULE))
        if not isinstance(call, ast.Call) or id(call) in followed:
            continue
        func = call.func
        line = f"line {call.lineno}: "
        name = getattr(func, "id", None) or getattr(func, "attr", None)
        if isinstance(func, ast.Name) and func.id in _DYNAMIC_BUILTINS:
            found.append(DynamicCall(f"{line}{func.id}()"))
        elif (
            isinstance(func, ast.Name)
            and func.id in _DYNAMIC_ATTRIBUTES
            and len(call.args) >= 2
            and not isinstance(call.args[1], ast.Constant)
        ):
            prefix = literal_prefix(call.args[1]) if func.id in _READING_ATTRIBUTES else ""
            target = _dispatch_target(call.args[0], local_names) if prefix else ()
            if target == OWN_MODULE:
                followed.add(id(call.args[0]))  # sys.modules[__name__]: this very module
            found.append(DynamicCall(f"{line}{func.id}() with a computed name", prefix, target))
        elif (
            isinstance(func, ast.Attribute) and func.attr == "get" and _is_globals_call(func.value)
        ):
            prefix = literal_prefix(call.args[0]) if call.args else ""
            if prefix:  # globals().get(f"step_{x}")
                followed.add(id(func.value))
                found.append(DynamicCall(f"{line}globals().get()", prefix, OWN_MODULE))
        elif isinstance(func, ast.Attribute) and func.attr == "import_module":
            found.append(DynamicCall(f"{line}importlib.import_module()"))
        elif isinstance(func, ast.Attribute) and func.attr == "__subclasses__":
            found.append(DynamicCall(f"{line}classes found by __subclasses__()"))
        elif (
            name in _BY_NAME_CALLERS
            and call.args
            and not all(isinstance(a, ast.Constant) for a in call.args)
        ):
            prefixes = [literal_prefix(a) for a in call.args if not isinstance(a, ast.Constant)]
            found.append(
                DynamicCall(
                    f"{line}{name}() with a computed name",
                    min(prefixes, key=len) if all(prefixes) else "",
                )
            )
    return found


def _is_sys_modules(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "modules"
        and isinstance(node.value, ast.Name)
        and node.value.id == "sys"
    )


def literal_prefix(node: ast.AST) -> str:
    """The literal text a computed name starts with (``f"_on_{x}"``, ``"_on_" + x``,
    ``"_on_%s" % x``, ``"_on_{}".format(x)``: ``"_on_"``); empty when there is none."""
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else ""
    if isinstance(node, ast.JoinedStr):
        return literal_prefix(node.values[0]) if node.values else ""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left = literal_prefix(node.left)
        whole = isinstance(node.left, ast.Constant)
        return left + literal_prefix(node.right) if whole and left else left
    if (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Mod)
        and isinstance(node.left, ast.Constant)
    ):
        return literal_prefix(node.left).partition("%")[0]
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
        and isinstance(node.func.value, ast.Constant)
    ):
        return literal_prefix(node.func.value).partition("{")[0]
    return ""


def _dispatch_target(node: ast.AST, local_names: frozenset[str]) -> tuple[str, ...]:
    """What a computed name is looked up on: a global dotted name (``handlers``,
    ``pkg.steps``), :data:`OWN_MODULE` (``sys.modules[__name__]``), or ``()``."""
    if (
        isinstance(node, ast.Subscript)
        and isinstance(node.slice, ast.Name)
        and node.slice.id == "__name__"
        and _chain_of(node.value) == ("sys", "modules")
    ):
        return OWN_MODULE
    chain = _chain_of(node)
    return chain if chain and chain[0] not in local_names else ()


def _chain_of(node: ast.AST) -> tuple[str, ...]:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return (node.id, *reversed(parts)) if isinstance(node, ast.Name) else ()


def _local_names(node: ast.AST) -> frozenset[str]:
    """Parameters and names assigned inside a definition (``self``, ``handler``)."""
    names = {a.arg for a in ast.walk(node) if isinstance(a, ast.arg)}
    names |= {
        n.id for n in ast.walk(node) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)
    }
    return frozenset(names)


def _is_globals_call(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "globals"
        and not node.args
    )
