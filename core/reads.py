"""Files and environment variables a function body reads, found statically.

A read is a call the analysis knows (``open(p)``, ``Path(p).read_text()``, ``pd.read_csv(p)``,
``np.load(p)``, ``pq.read_table(p)``...; see ``_PATH_READERS``) or an environment lookup
(``os.environ["X"]``, ``os.environ.get("X")``, ``os.getenv("X")``, ``"X" in os.environ``).
When the path or the name folds to a constant (:class:`_Folder`: literals, ``__file__``,
module constants, names assigned once in the body, ``/``, ``+``, f-strings, ``Path(...)``,
``os.path.join``/``dirname``/``abspath``, ``.parent``, ``.resolve()``...), the read becomes an
input (:class:`~skipwise.inputs.File`, :class:`~skipwise.inputs.Env`); when it does not, a
warning says where and how to declare it. Files opened for writing are outputs, not reads.

The source is parsed only for code that names one of the readers (as ``facts`` does for
``eval``), with the module's parsed source shared with the rest of the analysis.
"""

from __future__ import annotations

import ast
import builtins
import io
import os
import pathlib
import sys
import types
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from skipwise import source as _source
from skipwise.boundary import module_label
from skipwise.inputs import Env, File, Input, path_label
from skipwise.memo import trim

# Calls whose first argument (or one of _PATH_KEYWORDS) is a path they read, by name: pandas,
# polars, numpy, pyarrow (parquet, feather, csv, json), whatever module they are called from.
_PATH_READERS = frozenset(
    {"read_csv", "read_table", "read_fwf", "read_json", "read_excel", "read_parquet"}
    | {"read_feather", "read_pickle", "read_hdf", "read_orc", "read_xml", "read_sas"}
    | {"read_spss", "read_stata", "read_ndjson", "read_ipc", "read_avro", "scan_csv"}
    | {"scan_parquet", "scan_ndjson", "scan_ipc", "loadtxt", "genfromtxt", "fromfile"}
    | {"ParquetFile", "read_schema", "read_metadata"}
)
_PATH_KEYWORDS = ("filepath_or_buffer", "path_or_buf", "path", "source", "fname", "file", "io")
# Calls that read a path only when called on one of these packages (``json.load(f)`` takes an
# open file, found by its ``open``; ``np.load(p)`` takes the path).
_MODULE_READERS = {
    "load": frozenset({"numpy", "joblib", "torch"}),
    "open": frozenset({"gzip", "bz2", "lzma", "tarfile", "io", "codecs", "PIL"}),
}
_PATH_METHODS = frozenset({"read_text", "read_bytes"})
_ENV_NAMES = frozenset({"environ", "getenv"})
# Names whose presence in a code object's names makes it worth parsing.
TRIGGERS = _PATH_READERS | _PATH_METHODS | _ENV_NAMES | frozenset(_MODULE_READERS)
_WRITE_MODES = frozenset("wax+")
_PATH_CLASSES = (pathlib.Path, pathlib.PurePath, pathlib.PosixPath, pathlib.PurePosixPath)
_PATH_CLASSES += (pathlib.WindowsPath, pathlib.PureWindowsPath)
_OS_PATH = (os.path.join, os.path.dirname, os.path.abspath, os.path.realpath, os.path.normpath)
_OS_PATH += (os.path.expanduser,)
_TO_TEXT = (str, os.fspath)
_OPENERS = (builtins.open, io.open)
_PATH_FUNCTIONS = (pathlib.Path.read_text, pathlib.Path.read_bytes)
_FUNCTION_TYPES = (types.FunctionType, types.BuiltinFunctionType, types.MethodDescriptorType)
# What calls return that is an open file or a buffer, not a path.
_STREAMS = (builtins.open, io.StringIO, io.BytesIO, io.TextIOWrapper, io.BufferedReader)
_FOLD_DEPTH = 20
_SYSTEM_FILES = ("/proc/", "/sys/", "/dev/")
_SHARED_MEMORY = "/dev/shm/"
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


@dataclass(frozen=True)
class Reads:
    """What one function reads: inputs to hash, and reads the analysis cannot pin down
    (``"line N: ..."``; warnings add :data:`ADVICE`)."""

    inputs: tuple[Input, ...] = ()
    unfollowed: tuple[str, ...] = ()


_NONE = Reads()


def reads_of(fn: types.FunctionType, names: frozenset[str]) -> Reads:
    """The files and environment variables ``fn``'s body reads; ``names`` are the names its
    code mentions (a quick test before any parsing)."""
    if names.isdisjoint(TRIGGERS) and not any(
        _is_reader(fn.__globals__.get(name)) for name in names
    ):
        return _NONE
    code = fn.__code__
    module = sys.modules.get(fn.__globals__.get("__name__") or "")
    definition = None
    if module is None or _source.unchanged_since_import(module):
        definition = _source.find_definition(
            code.co_filename, fn.__globals__, code.co_qualname, code.co_firstlineno
        )
    if definition is None:
        used = ", ".join(sorted(names & TRIGGERS))
        return Reads(unfollowed=(f"reads through {used} (no source to check)",))
    return _Reads(fn, definition.node).run()


# What a warning about a read that cannot be pinned down tells the user to do.
ADVICE = (
    "declare what it reads with @skipwise.cached(depends_on=[skipwise.File(PATH), "
    "skipwise.Env(NAME)])"
)


class _Reads:
    def __init__(self, fn: types.FunctionType, node: ast.AST) -> None:
        self.node = node
        self.globals = fn.__globals__
        self.folder = _Folder(self.globals, node, _cells(fn))
        module = sys.modules.get(self.globals.get("__name__") or "")
        self.roots = _module_roots(module)
        self.inputs: dict[str, Input] = {}
        self.unfollowed: list[str] = []
        self.outputs: set[int] = set()  # nodes inside the path of a file opened for writing

    def run(self) -> Reads:
        for node in ast.walk(self.node):  # breadth first: a call before its arguments
            if id(node) in self.outputs:
                continue
            if isinstance(node, ast.Call):
                self._call(node)
            elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
                if self.folder.resolve(node.value) is os.environ:
                    self._env(node.slice, node)
            elif (
                isinstance(node, ast.Compare)
                and len(node.ops) == 1
                and isinstance(node.ops[0], ast.In | ast.NotIn)
                and self.folder.resolve(node.comparators[0]) is os.environ
            ):
                self._env(node.left, node)
        return Reads(tuple(self.inputs.values()), tuple(dict.fromkeys(self.unfollowed)))

    def _call(self, call: ast.Call) -> None:
        func = call.func
        target = self.folder.resolve(func)
        if _one_of(target, _OPENERS) or (
            isinstance(func, ast.Attribute)
            and func.attr in _MODULE_READERS
            and _package(self.folder.resolve(func.value)) in _MODULE_READERS[func.attr]
        ):
            opens = _one_of(target, _OPENERS) or _func_attr(func) == "open"
            if opens and _writes(_argument(call, 1, ("mode",))):
                self._output(_argument(call, 0, _PATH_KEYWORDS))
                return
            self._path(_argument(call, 0, _PATH_KEYWORDS), call)
        elif target is os.getenv or (
            isinstance(func, ast.Attribute)
            and func.attr == "get"
            and self.folder.resolve(func.value) is os.environ
        ):
            self._env(_argument(call, 0, ("key",)), call)
        elif isinstance(func, ast.Attribute) and func.attr in _PATH_METHODS:
            self._path(func.value, call)
        elif _one_of(target, _PATH_FUNCTIONS):  # ``read = Path.read_text; read(p)``
            self._path(_argument(call, 0, ("self",)), call)
        elif isinstance(func, ast.Attribute) and func.attr == "open":
            # ``p.open()`` on a path the analysis can fold; other objects' ``open`` (an
            # archive member, a remote file system) are not local files.
            if self.folder.path(func.value) is not None and not _writes(
                _argument(call, 0, ("mode",))
            ):
                self._path(func.value, call)
        elif (
            _called_name(func) in _PATH_READERS or _function_name(target) in _PATH_READERS
        ) and not self.folder.is_local(func):
            self._path(_argument(call, 0, _PATH_KEYWORDS), call)

    def _output(self, expr: ast.expr | None) -> None:
        """Where an output goes is no input: ``open(os.environ["LOG"], "a")`` reads nothing."""
        if expr is not None:
            self.outputs.update(id(node) for node in ast.walk(expr))

    def _path(self, expr: ast.expr | None, call: ast.Call) -> None:
        if expr is None or self.folder.is_stream(expr):
            return
        value = self.folder.path(expr)
        if isinstance(value, int):  # a file descriptor
            return
        if value is None:
            self._unfollowed(call, "a file read with a computed path")
            return
        text = os.fsdecode(os.fspath(value))
        if text.startswith(_SYSTEM_FILES) and not text.startswith(_SHARED_MEMORY):
            # the kernel's view of the process, not data (files in shared memory are data)
            return
        if "://" in text:
            self._unfollowed(call, "a read of remote data, which skipwise cannot hash")
            return
        file = _interned(File(text, label=path_label(text, self.roots)))
        self.inputs.setdefault(file.key, file)

    def _env(self, expr: ast.expr | None, node: ast.AST) -> None:
        name = self.folder.fold(expr) if expr is not None else None
        if not isinstance(name, str) or not name:
            self._unfollowed(node, "an environment variable with a computed name")
            return
        env = _interned(Env(name))
        self.inputs.setdefault(env.key, env)

    def _unfollowed(self, node: ast.AST, what: str) -> None:
        text = ast.unparse(node)
        text = text if len(text) <= 60 else text[:57] + "..."
        self.unfollowed.append(f"line {getattr(node, 'lineno', '?')}: {what} ({text})")


def _function_name(obj: object) -> str | None:
    """A function's own name, whatever the code calls it (``rc = pd.read_csv``), read without
    running code of other objects."""
    return obj.__name__ if type(obj) in _FUNCTION_TYPES else None  # type: ignore[union-attr]


def _is_reader(obj: object) -> bool:
    """A global bound to a reader under another name (``from os import getenv as env``)."""
    return obj is os.environ or _function_name(obj) in TRIGGERS


def _func_attr(func: ast.expr) -> str | None:
    return func.attr if isinstance(func, ast.Attribute) else None


def _is_open(func: ast.expr) -> bool:
    """Whether a reader call is an ``open`` (whose second argument is a mode)."""
    return (isinstance(func, ast.Name) and func.id == "open") or (
        isinstance(func, ast.Attribute) and func.attr == "open"
    )


def _writes(mode: ast.expr | None) -> bool:
    """A constant mode that writes (``"w"``, ``"a"``, ``"x"``, ``"r+"``): the file is an
    output, or state the function keeps."""
    return (
        isinstance(mode, ast.Constant)
        and isinstance(mode.value, str)
        and bool(_WRITE_MODES & set(mode.value))
    )


def _argument(call: ast.Call, position: int, keywords: tuple[str, ...]) -> ast.expr | None:
    if len(call.args) > position and not any(isinstance(a, ast.Starred) for a in call.args):
        return call.args[position]
    for keyword in call.keywords:
        if keyword.arg in keywords:
            return keyword.value
    return None


def _called_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else None


def _one_of(obj: object, candidates: Collection[object]) -> bool:
    """Identity, not equality: a resolved global may be any object (unhashable, or with an
    ``__eq__`` of its own)."""
    return any(obj is candidate for candidate in candidates)


def _package(obj: object) -> str | None:
    return obj.__name__.partition(".")[0] if isinstance(obj, types.ModuleType) else None


def _cells(fn: types.FunctionType) -> dict[str, object]:
    """What the function's free variables hold (a closure's ``path``), by name; None for an
    empty cell."""
    cells = zip(fn.__code__.co_freevars, fn.__closure__ or (), strict=False)
    return {name: _cell_value(cell) for name, cell in cells}


def _cell_value(cell: types.CellType) -> object:
    try:
        return cell.cell_contents
    except ValueError:  # not bound yet
        return None


class _Folder:
    """Evaluates the constant part of a function's expressions: names resolve to module
    globals as they are now (a global rebound makes the function be processed again), to what
    a closure's cells hold, and to values assigned exactly once in the body; parameters and
    other locals are not constant."""

    def __init__(
        self, module_globals: dict[str, Any], node: ast.AST, cells: dict[str, object]
    ) -> None:
        self.globals = module_globals
        self.cells = cells
        self.assigned: dict[str, list[ast.expr | None]] = {}  # local -> values bound to it
        self.imported: dict[str, tuple[str, str | None]] = {}  # local -> (module, attribute)
        self.streams: set[str] = set()  # locals bound to what ``with ... as`` gives
        self._depth = 0
        self._scan(node)

    def _scan(self, root: ast.AST) -> None:
        with_values: set[int] = set()  # names bound by a statement whose value is recorded
        # What nested functions bind is theirs, not a constant of this one: a name bound there
        # and read here is a global here, so it is not folded at all (never the wrong value).
        nested = {
            id(inner)
            for node in ast.walk(root)
            if isinstance(node, _SCOPES) and node is not root
            for inner in ast.walk(node)
        }
        for node in ast.walk(root):
            if isinstance(node, ast.Assign | ast.AnnAssign | ast.NamedExpr):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                single = len(targets) == 1 and isinstance(targets[0], ast.Name)
                if single and id(node) not in nested:
                    self._bind(targets[0].id, node.value)
                    with_values.add(id(targets[0]))
            elif isinstance(node, ast.withitem) and isinstance(node.optional_vars, ast.Name):
                self.streams.add(node.optional_vars.id)
            elif isinstance(node, ast.Import | ast.ImportFrom):
                self._import(node)
            elif isinstance(node, ast.arguments):  # the function's and nested ones'
                for arg in (*node.posonlyargs, *node.args, *node.kwonlyargs):
                    self._bind(arg.arg, None)
                for arg in (node.vararg, node.kwarg):
                    if arg is not None:
                        self._bind(arg.arg, None)
            elif (
                isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                and node is not root
            ):
                self._bind(node.name, None)  # type: ignore[attr-defined]
        for node in ast.walk(root):
            stored = isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load)
            if stored and id(node) not in with_values:
                self._bind(node.id, None)  # type: ignore[attr-defined]
        for name, values in self.assigned.items():
            if len(values) == 1 and values[0] is not None and self.is_stream(values[0]):
                self.streams.add(name)

    def _bind(self, name: str, value: ast.expr | None) -> None:
        """``value`` is None where what is bound is not known (a parameter, a loop target)."""
        self.assigned.setdefault(name, []).append(value)

    def _import(self, node: ast.Import | ast.ImportFrom) -> None:
        for alias in node.names:
            if isinstance(node, ast.Import):
                local = alias.asname or alias.name.partition(".")[0]
                module = alias.name if alias.asname else alias.name.partition(".")[0]
                self.imported[local] = (module, None)
            elif node.level == 0 and node.module:
                self.imported[alias.asname or alias.name] = (node.module, alias.name)
            else:  # a relative import in a body: not resolved here
                self._bind(alias.asname or alias.name, None)

    def is_local(self, expr: ast.expr) -> bool:
        """Whether a name (or the start of an attribute chain) is bound in the body."""
        while isinstance(expr, ast.Attribute):
            expr = expr.value
        return isinstance(expr, ast.Name) and expr.id in self.assigned

    def is_stream(self, expr: ast.expr) -> bool:
        """An open file or buffer rather than a path: a name bound by ``with ... as`` or to an
        ``open(...)``, or such a call itself (``open(p)`` is a read found on its own;
        ``io.BytesIO(b)`` reads no file)."""
        if isinstance(expr, ast.Name):
            return expr.id in self.streams
        if isinstance(expr, ast.Call):
            return _is_open(expr.func) or _one_of(self.resolve(expr.func), _STREAMS)
        return False

    def resolve(self, expr: ast.expr) -> object:
        """The object a name or attribute chain stands for (a module, a function, a constant),
        or None: locals are unknown, and only modules are looked into."""
        if isinstance(expr, ast.Name):
            if expr.id in self.imported:
                module, attribute = self.imported[expr.id]
                found = sys.modules.get(module)
                return found if attribute is None else _member(found, attribute)
            if expr.id in self.assigned:
                return None
            if expr.id in self.cells:  # a free variable: never the global of that name
                return self.cells[expr.id]
            return self.globals.get(expr.id, getattr(builtins, expr.id, None))
        if isinstance(expr, ast.Attribute):
            return _member(self.resolve(expr.value), expr.attr)
        return None

    def path(self, expr: ast.expr) -> object:
        value = self.fold(expr)
        return value if isinstance(value, str | bytes | int | pathlib.PurePath) else None

    def fold(self, expr: ast.expr) -> object:
        """The constant value of ``expr``, or None."""
        if self._depth > _FOLD_DEPTH:
            return None
        self._depth += 1
        try:
            return self._fold(expr)
        except (TypeError, ValueError, OSError):  # e.g. a str divided by a str
            return None
        finally:
            self._depth -= 1

    def _fold(self, expr: ast.expr) -> object:
        if isinstance(expr, ast.Constant):
            return expr.value if isinstance(expr.value, str | bytes | int) else None
        if isinstance(expr, ast.Name) and expr.id in self.assigned:
            values = self.assigned[expr.id]
            return self.fold(values[0]) if len(values) == 1 and values[0] is not None else None
        if isinstance(expr, ast.Name | ast.Attribute):
            if isinstance(expr, ast.Attribute):
                base = self.fold(expr.value)
                if isinstance(base, pathlib.PurePath) and expr.attr == "parent":
                    return base.parent
            value = self.resolve(expr)
            if isinstance(value, bool):
                return None
            return value if isinstance(value, str | bytes | int | pathlib.PurePath) else None
        if isinstance(expr, ast.BinOp):
            return self._binary(expr)
        if isinstance(expr, ast.JoinedStr):
            return self._fstring(expr)
        if isinstance(expr, ast.Call):
            return self._call(expr)
        return None

    def _binary(self, expr: ast.BinOp) -> object:
        left, right = self.fold(expr.left), self.fold(expr.right)
        if left is None or right is None:
            return None
        if isinstance(expr.op, ast.Div) and isinstance(left, pathlib.PurePath | str):
            if isinstance(left, pathlib.PurePath) or isinstance(right, pathlib.PurePath):
                return left / right  # type: ignore[operator]
            return None
        if isinstance(expr.op, ast.Add) and type(left) is type(right) and type(left) is str:
            return left + right  # type: ignore[operator]
        return None

    def _fstring(self, expr: ast.JoinedStr) -> str | None:
        parts: list[str] = []
        for value in expr.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
                continue
            if not isinstance(value, ast.FormattedValue) or value.format_spec is not None:
                return None
            folded = self.fold(value.value)
            if folded is None or isinstance(folded, bytes):
                return None
            convert = {ord("r"): repr, ord("a"): ascii}.get(value.conversion, str)
            parts.append(convert(folded))
        return "".join(parts)

    def _call(self, call: ast.Call) -> object:
        if call.keywords or any(isinstance(a, ast.Starred) for a in call.args):
            return None
        func = call.func
        target = self.resolve(func)
        args = [self.fold(a) for a in call.args]
        if any(a is None for a in args):
            return None
        if _one_of(target, (*_PATH_CLASSES, *_OS_PATH, *_TO_TEXT)):
            return target(*args)  # type: ignore[operator]
        if isinstance(func, ast.Attribute):
            base = self.fold(func.value)
            if isinstance(base, pathlib.PurePath) and func.attr in _PATH_CALLS:
                return getattr(base, func.attr)(*args)
        return None


# Path methods that compute another path (and nothing else).
_PATH_CALLS = frozenset({"joinpath", "with_name", "with_suffix", "with_stem", "resolve"})
_PATH_CALLS |= frozenset({"absolute", "expanduser"})


def _member(owner: object, name: str) -> object:
    """A module's attribute, read from its namespace (no ``__getattr__`` runs)."""
    if isinstance(owner, types.ModuleType):
        return vars(owner).get(name)
    return None


def _module_roots(module: types.ModuleType | None) -> tuple[str, ...]:
    """The folder a module was imported from (``/x`` for ``/x/pkg/steps.py`` imported as
    ``pkg.steps``), as found and resolved: paths built from ``__file__`` are named relative
    to it, so they do not depend on where the checkout lives."""
    filename = getattr(module, "__file__", None)
    if not isinstance(filename, str):
        return ()
    depth = module_label(module.__name__).count(".") + 1  # type: ignore[union-attr]
    if os.path.basename(filename) == "__init__.py":
        depth += 1
    roots = []
    for start in (os.path.abspath(filename), os.path.realpath(filename)):
        root = start
        for _ in range(depth):
            root = os.path.dirname(root)
        roots.append(root)
    return tuple(dict.fromkeys(roots))


# One object per input, so a function processed again has the same children (the walker
# compares children by identity); the latest _INPUTS are kept.
_interned_inputs: dict[tuple[str, str], Input] = {}
_INPUTS = 20_000


def _interned(made: Input) -> Input:
    key = (made.key, os.fspath(made.path) if isinstance(made, File) else "")
    found = _interned_inputs.get(key)
    if found is None:
        found = _interned_inputs[key] = made
        trim(_interned_inputs, _INPUTS)
    return found
