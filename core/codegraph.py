"""The code a function depends on, as a graph of hashed nodes.

What a function *loads* is read from its bytecode (``LOAD_GLOBAL`` and attribute chains, in the
function and its nested code), which knows locals from globals exactly. What a function *is*
comes from its normalised AST (see :mod:`skipwise.source`). Names are resolved in the
function's globals and closure at the time of the call, so a rebound global is seen. The walk
follows user code only; standard-library and installed packages become ``external`` nodes.

Methods of a class are included when reachable: dunder methods always, others when their name
is loaded as an attribute (or appears as a string constant, for ``getattr(x, "name")``)
anywhere in the reachable code. That is a fixpoint, since a newly included method can make more
names reachable.
"""

from __future__ import annotations

import builtins
import dis
import functools
import importlib
import importlib.metadata
import importlib.util
import sys
import sysconfig
import types
import warnings
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import blake3
from skipwise import source as _source
from skipwise.errors import SkipwiseWarning
from skipwise.values import ValueHasher

_MISSING = object()


@dataclass(frozen=True)
class CodeNode:
    """One piece of user code (or an external package) a signature covers."""

    key: str
    kind: (
        str  # function | class | constant | state | partial | wrapper | module | external | unbound
    )
    digest: str
    refs: Mapping[str, str]  # label (e.g. "helpers.scale") -> key of the node it resolves to
    source: str = ""  # text shown in diffs
    location: str = ""  # "path/relative/to/package.py:LINE"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "digest": self.digest}
        if self.refs:
            data["refs"] = dict(self.refs)
        if self.location:
            data["location"] = self.location
        return data


@dataclass(frozen=True)
class CodeGraph:
    """All code reachable from ``root``; ``digest`` covers every node and every reference."""

    root: str
    digest: str
    nodes: Mapping[str, CodeNode]
    warnings: tuple[str, ...] = ()

    def sources(self) -> dict[str, str]:
        """Source text by node digest, kept with stored results so diffs can be shown later."""
        return {n.digest: n.source for n in self.nodes.values() if n.source}

    def to_dict(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "digest": self.digest,
            "nodes": {key: node.to_dict() for key, node in sorted(self.nodes.items())},
        }

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], sources: Mapping[str, str] | None = None
    ) -> CodeGraph:
        sources = sources or {}
        nodes = {
            key: CodeNode(
                key=key,
                kind=raw["kind"],
                digest=raw["digest"],
                refs=raw.get("refs", {}),
                source=sources.get(raw["digest"], ""),
                location=raw.get("location", ""),
            )
            for key, raw in data["nodes"].items()
        }
        return cls(root=data["root"], digest=data["digest"], nodes=nodes)


def graph_digest(nodes: Mapping[str, CodeNode]) -> str:
    h = blake3.blake3()
    for key in sorted(nodes):
        node = nodes[key]
        h.update(f"{key}\0{node.kind}\0{node.digest}\0".encode())
        for label in sorted(node.refs):
            h.update(f"{label}\1{node.refs[label]}\1".encode())
        h.update(b"\2")
    return h.hexdigest()


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
        self._cache: dict[str, bool] = {}

    def is_user_module(self, name: str | None) -> bool:
        if not name:
            return False
        cached = self._cache.get(name)
        if cached is None:
            cached = self._cache[name] = self._classify(name)
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


def module_label(name: str) -> str:
    """A module's name that does not depend on how it was started or where it lives on disk."""
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


# --- facts about one code object, computed once per process -----------------------------


@dataclass(frozen=True)
class FunctionFacts:
    digest: str
    source: str
    location: str
    chains: tuple[tuple[str, ...], ...]  # global name chains, in bytecode order
    imports: tuple[tuple[str, int, tuple[str, ...]], ...]  # (module, level, from-names)
    attr_names: frozenset[str]
    def_chains: frozenset[tuple[str, ...]]  # decorators and defaults, from the AST
    dynamic: tuple[str, ...]
    mutated: frozenset[str]  # globals and closure names this code mutates: state, not input


_facts: dict[int, tuple[types.CodeType, FunctionFacts]] = {}


def function_facts(code: types.CodeType, module_globals: dict | None) -> FunctionFacts:
    entry = _facts.get(id(code))
    if entry is not None and entry[0] is code:
        return entry[1]
    facts = _compute_facts(code, module_globals)
    _facts[id(code)] = (code, facts)
    return facts


def _compute_facts(code: types.CodeType, module_globals: dict | None) -> FunctionFacts:
    chains, imports, names, mutated = _bytecode_references(code)
    module_src = _source.module_source(code.co_filename, module_globals)
    definition = (
        module_src.definition(code.co_qualname, code.co_firstlineno) if module_src else None
    )
    location = _location(module_globals, code.co_firstlineno)
    if definition is None:
        return FunctionFacts(
            digest=_bytecode_digest(code),
            source="",
            location=location,
            chains=chains,
            imports=imports,
            attr_names=names,
            def_chains=frozenset(),
            dynamic=(),
            mutated=mutated,
        )
    return FunctionFacts(
        digest=definition.digest,
        source=definition.text,
        location=location,
        chains=chains,
        imports=imports,
        attr_names=names,
        def_chains=definition.chains,
        dynamic=definition.dynamic,
        mutated=mutated,
    )


def _location(module_globals: dict | None, line: int | None) -> str:
    name = (module_globals or {}).get("__name__") or "?"
    return f"{module_label(name)}:{line}" if line else module_label(name)


def _nested_code(code: types.CodeType) -> Iterator[types.CodeType]:
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _nested_code(const)


_MUTATORS = frozenset(
    [
        "append",
        "extend",
        "insert",
        "remove",
        "pop",
        "popitem",
        "clear",
        "update",
        "setdefault",
        "add",
        "discard",
        "sort",
        "reverse",
        "__setitem__",
        "__delitem__",
    ]
)
_OUTER_LOADS = ("LOAD_GLOBAL", "LOAD_NAME", "LOAD_DEREF", "LOAD_CLASSDEREF")
_SIMPLE_LOADS = ("LOAD_FAST", "LOAD_CONST", "LOAD_GLOBAL", "LOAD_DEREF", "LOAD_NAME")


def _bytecode_references(code: types.CodeType):
    chains: dict[tuple[str, ...], None] = {}
    imports: list[tuple[str, int, tuple[str, ...]]] = []
    names: set[str] = set()
    mutated: set[str] = set()
    for co in _nested_code(code):
        names.update(co.co_names)
        names.update(c for c in co.co_consts if isinstance(c, str) and c.isidentifier())
        chain: list[str] | None = None
        consts: list[Any] = []
        current_import: list | None = None
        instructions = list(dis.get_instructions(co))
        for i, ins in enumerate(instructions):
            op = ins.opname
            if op in ("LOAD_ATTR", "LOAD_METHOD") and chain is not None:
                chain.append(ins.argval)
                continue
            if chain is not None:
                chains[tuple(chain)] = None
                chain = None
            if op in _OUTER_LOADS and i + 1 < len(instructions):
                following = instructions[i + 1]
                if (
                    following.opname in ("LOAD_ATTR", "LOAD_METHOD")
                    and following.argval in _MUTATORS
                ):
                    mutated.add(ins.argval)
            if op in ("LOAD_GLOBAL", "LOAD_NAME"):
                chain = [ins.argval]
            elif op in ("STORE_SUBSCR", "DELETE_SUBSCR") and i >= 2:
                container, key = instructions[i - 2], instructions[i - 1]
                if container.opname in _OUTER_LOADS and key.opname in _SIMPLE_LOADS:
                    mutated.add(container.argval)
            elif op in ("STORE_GLOBAL", "STORE_DEREF") and ins.argval not in co.co_cellvars:
                mutated.add(ins.argval)
            elif op == "IMPORT_NAME":
                level = consts[-2] if len(consts) >= 2 and isinstance(consts[-2], int) else 0
                current_import = [ins.argval, level, []]
                imports.append(current_import)  # type: ignore[arg-type]
            elif op == "IMPORT_FROM" and current_import is not None:
                current_import[2].append(ins.argval)
            if op == "LOAD_CONST":
                consts.append(ins.argval)
            elif op not in ("IMPORT_NAME", "IMPORT_FROM", "STORE_FAST", "STORE_NAME", "POP_TOP"):
                consts.clear()
        if chain is not None:
            chains[tuple(chain)] = None
    frozen_imports = tuple((m, lvl, tuple(fr)) for m, lvl, fr in imports)
    return tuple(chains), frozen_imports, frozenset(names), frozenset(mutated)


def _bytecode_digest(code: types.CodeType) -> str:
    """For code with no source (generated, or the file changed since import): its bytecode."""
    h = blake3.blake3()
    hasher = ValueHasher(strict=False, code_ref=lambda o, p: None, is_user_type=lambda t: False)
    for co in _nested_code(code):
        consts = tuple(c for c in co.co_consts if not isinstance(c, types.CodeType))
        for part in (co.co_code, co.co_names, co.co_varnames, co.co_freevars, co.co_cellvars):
            h.update(repr(part).encode() if not isinstance(part, bytes) else part)
        h.update(f"{co.co_argcount},{co.co_kwonlyargcount},{co.co_flags}".encode())
        hasher.feed(h, consts, "co_consts")
    return h.hexdigest()


# --- the walk ---------------------------------------------------------------------------


_warned: set[str] = set()


class Walker:
    """Builds the :class:`CodeGraph` of one root object."""

    def __init__(self, boundary: Boundary, *, warn_dynamic: bool = True):
        self.boundary = boundary
        self.warn_dynamic = warn_dynamic
        self.nodes: dict[str, CodeNode] = {}
        self._keys: dict[int, str] = {}
        self._pinned: list[object] = []
        self._attr_names: set[str] = set()
        self._classes: dict[str, type] = {}
        self._class_members: dict[str, dict[str, str]] = {}
        self._warnings: list[str] = []
        self._queue: deque[tuple[Any, object, str, tuple[object, ...]]] = deque()

    def graph(self, root: object, binding: str, declared: tuple[object, ...] = ()) -> CodeGraph:
        root_key = self.visit(root, binding)
        self._drain()
        if declared:
            node = self.nodes[root_key]
            refs = dict(node.refs)
            for i, dependency in enumerate(declared):
                refs[f"depends_on[{i}]"] = self.visit(dependency, f"{root_key}/depends_on[{i}]")
            self.nodes[root_key] = CodeNode(
                root_key, node.kind, node.digest, refs, node.source, node.location
            )
            self._drain()
        self._include_reachable_methods()
        for key, members in self._class_members.items():
            node = self.nodes[key]
            self.nodes[key] = CodeNode(
                key, node.kind, node.digest, {**node.refs, **members}, node.source, node.location
            )
        return CodeGraph(
            root=root_key,
            digest=graph_digest(self.nodes),
            nodes=dict(self.nodes),
            warnings=tuple(self._warnings),
        )

    # Each visit returns the key of the node standing for ``obj``. ``state``: reachable code
    # mutates it (a memo dict, a counter), so its contents are not an input.
    def visit(self, obj: object, binding: str, state: bool = False) -> str:
        known = self._keys.get(id(obj))
        if known is not None:
            return known
        self._pinned.append(obj)
        if state and not _is_code(obj):
            kind_name = type(obj).__module__ + "." + type(obj).__qualname__
            key = self._add(binding, "state", blake3.blake3(kind_name.encode()).hexdigest(), {})
        else:
            key = self._visit(obj, binding)
        self._keys[id(obj)] = key
        return key

    def _visit(self, obj: object, binding: str) -> str:
        inner = _unwrap_cached(obj)
        if inner is not obj:
            return self.visit(inner, binding)
        if isinstance(obj, types.FunctionType):
            if not self.boundary.is_user_module(obj.__module__):
                return self._external(obj)
            return self._schedule(self._function, obj, canonical_key(obj) or binding)
        if isinstance(obj, type):
            if not self.boundary.is_user_type(obj):
                return self._external(obj)
            return self._schedule(self._class, obj, canonical_key(obj) or binding)
        if isinstance(obj, types.ModuleType):
            if not self.boundary.is_user_module(obj.__name__):
                return self._external(obj)
            return self._module(obj)
        if isinstance(obj, functools.partial):
            return self._schedule(self._partial, obj, binding)
        if isinstance(obj, types.MethodType):
            parts = {"__func__": obj.__func__, "__self__": obj.__self__}
            return self._schedule(self._wrapper, obj, binding, parts)
        if isinstance(obj, staticmethod | classmethod):
            return self.visit(obj.__func__, binding)
        if isinstance(obj, property):
            parts = {n: getattr(obj, n) for n in ("fget", "fset", "fdel") if getattr(obj, n)}
            return self._schedule(self._wrapper, obj, binding, parts)
        if isinstance(obj, functools.cached_property):
            return self.visit(obj.func, binding)
        wrapped = _safe_getattr(obj, "__wrapped__")
        if wrapped is not _MISSING and callable(obj):
            return self._schedule(self._wrapper, obj, binding, {"__wrapped__": wrapped})
        if isinstance(obj, types.BuiltinFunctionType | types.BuiltinMethodType):
            return self._external(obj)
        return self._constant(obj, binding)

    def _schedule(self, process, obj: object, key: str, *extra: object) -> str:
        """Register ``obj`` under ``key`` now and hash it later: the walk never recurses, so
        call chains of any depth fit, and cycles end at the registered key."""
        self._keys[id(obj)] = key
        self._queue.append((process, obj, key, extra))
        return key

    def _drain(self) -> None:
        while self._queue:
            process, obj, key, extra = self._queue.popleft()
            process(obj, key, *extra)

    def _add(self, key: str, kind: str, digest: str, refs: dict[str, str], source="", location=""):
        self.nodes[key] = CodeNode(key, kind, digest, refs, source, location)
        return key

    def _external(self, obj: object) -> str:
        """Third-party or standard-library code: named precisely, never walked into."""
        if isinstance(obj, types.ModuleType):
            module_name, qualname = obj.__name__, ""
        else:
            module_name = getattr(obj, "__module__", None) or "builtins"
            qualname = getattr(obj, "__qualname__", None) or type(obj).__qualname__
        key = f"external:{module_name}" + (f".{qualname}" if qualname else "")
        if key not in self.nodes:
            version = (
                self.boundary.package_version(module_name) if self.boundary.track_packages else ""
            )
            self._add(key, "external", version, {})
        return key

    def _function(self, fn: types.FunctionType, key: str) -> str:
        code = fn.__code__
        facts = function_facts(code, fn.__globals__)
        self._attr_names |= facts.attr_names
        self._report_dynamic(key, facts)
        refs: dict[str, str] = {}
        module_name = fn.__globals__.get("__name__", fn.__module__)
        for chain in facts.chains:
            state = chain[0] in facts.mutated
            target = self._resolve_chain(fn.__globals__, chain, module_name, state=state)
            if target is not None:
                refs[".".join(chain)] = target
        for chain in facts.def_chains:
            target = self._resolve_chain(fn.__globals__, chain, module_name)
            if target is not None:
                refs["@" + ".".join(chain)] = target
        for module, level, names in facts.imports:
            refs.update(self._resolve_import(module, level, names, fn.__globals__))
        if fn.__closure__:
            for name, cell in zip(code.co_freevars, fn.__closure__, strict=True):
                try:
                    value = cell.cell_contents
                except ValueError:
                    continue  # an empty cell: the name is assigned later
                state = name in facts.mutated
                refs["closure:" + name] = self.visit(value, f"{key}/{name}", state=state)
        default_digest = ""
        if fn.__defaults__ or fn.__kwdefaults__:
            defaults = (fn.__defaults__ or (), fn.__kwdefaults__ or {})
            default_digest = self._value_digest(defaults, f"{key}/defaults", refs, "default")
        digest = blake3.blake3(f"{facts.digest}\0{default_digest}".encode()).hexdigest()
        return self._add(key, "function", digest, refs, facts.source, facts.location)

    def _report_dynamic(self, key: str, facts: FunctionFacts) -> None:
        for what in facts.dynamic:
            message = (
                f"skipwise cannot follow {what} in {key} ({facts.location.rpartition(':')[0]}); "
                "declare what it reaches with depends_on=[...] or bump version="
            )
            self._warnings.append(message)
            if self.warn_dynamic and message not in _warned:
                _warned.add(message)
                warnings.warn(message, SkipwiseWarning, stacklevel=4)

    def _resolve_chain(
        self, scope: dict, chain: tuple[str, ...], module_name: str, state: bool = False
    ) -> str | None:
        name = chain[0]
        obj = scope.get(name, _MISSING)
        if obj is _MISSING:
            if hasattr(builtins, name):
                return None  # builtins are outside every signature
            return self._add(f"unbound:{module_label(module_name)}:{name}", "unbound", "", {})
        owner = module_name
        for attr in chain[1:]:
            if not isinstance(obj, types.ModuleType):
                break
            if not self.boundary.is_user_module(obj.__name__):
                return self._external(obj)
            nxt = _safe_getattr(obj, attr)
            if nxt is _MISSING:
                break
            owner, name, obj = obj.__name__, attr, nxt
        return self.visit(obj, f"{module_label(owner)}:{name}", state=state and len(chain) <= 2)

    def _resolve_import(self, module: str, level: int, names: tuple[str, ...], scope: dict):
        try:
            absolute = importlib.util.resolve_name("." * level + module, scope.get("__package__"))
            imported = importlib.import_module(absolute)
        except Exception as exc:
            self._warnings.append(f"cannot import {module!r} to follow it: {exc}")
            return {}
        if not names:
            return {"import " + absolute: self.visit(imported, absolute)}
        scope = vars(imported)
        return {
            f"from {absolute} import {n}": key
            for n in names
            if (key := self._resolve_chain(scope, (n,), absolute)) is not None
        }

    def _class(self, cls: type, key: str) -> str:
        module = sys.modules.get(cls.__module__)
        module_globals = vars(module) if module else {}
        src = _source.module_source(getattr(module, "__file__", None), module_globals)
        definition = src.definition(cls.__qualname__, None) if src else None
        refs: dict[str, str] = {}
        for base in cls.__bases__:
            if base is not object:
                refs["base:" + base.__qualname__] = self.visit(base, f"{key}/base")
        for chain in definition.chains if definition else ():
            target = self._resolve_chain(module_globals, chain, cls.__module__)
            if target is not None:
                refs["@" + ".".join(chain)] = target
        attributes = {
            name: value
            for name, value in vars(cls).items()
            if not _is_member_code(value) and not (name.startswith("__") and name.endswith("__"))
        }
        values = self._value_digest(attributes, key, refs, "attr")
        own = definition.digest if definition else "no-source"
        digest = blake3.blake3(f"{own}\0{values}".encode()).hexdigest()
        self._classes[key] = cls
        self._class_members[key] = {}
        return self._add(
            key,
            "class",
            digest,
            refs,
            definition.text if definition else "",
            _location(module_globals, definition.line if definition else None),
        )

    def _include_reachable_methods(self) -> None:
        done: set[tuple[str, str]] = set()
        changed = True
        while changed:
            changed = False
            for key, cls in list(self._classes.items()):
                for name, member in list(vars(cls).items()):
                    if (key, name) in done or not _is_member_code(member):
                        continue
                    dunder = name.startswith("__") and name.endswith("__")
                    if not dunder and name not in self._attr_names:
                        continue
                    done.add((key, name))
                    self._class_members[key]["member:" + name] = self.visit(member, f"{key}.{name}")
                    self._drain()
                    changed = True

    def _module(self, module: types.ModuleType) -> str:
        key = f"module:{module_label(module.__name__)}"
        src = _source.module_source(getattr(module, "__file__", None), vars(module))
        digest = src.statements_digest(list(src.tree.body))[0] if src else ""
        return self._add(key, "module", digest, {})

    def _partial(self, obj: functools.partial, binding: str) -> str:
        refs = {"func": self.visit(obj.func, f"{binding}/func")}
        digest = self._value_digest((obj.args, obj.keywords), binding, refs, "arg")
        return self._add(binding, "partial", digest, refs)

    def _wrapper(self, obj: object, binding: str, parts: dict[str, object]) -> str:
        refs = {label: self.visit(part, f"{binding}/{label}") for label, part in parts.items()}
        kind_name = type(obj).__module__ + "." + type(obj).__qualname__
        return self._add(binding, "wrapper", blake3.blake3(kind_name.encode()).hexdigest(), refs)

    def _constant(self, obj: object, binding: str) -> str:
        refs: dict[str, str] = {}
        hasher = self._hasher(binding, refs, "value")
        digest = hasher.digest(obj, binding)
        source = _short_repr(obj)
        if hasher.opaque:
            # Part of the value cannot be hashed by content: hash the statements binding it.
            module_name, _, name = binding.partition(":")
            module = sys.modules.get(module_name)
            src = _source.module_source(
                getattr(module, "__file__", None), vars(module) if module else None
            )
            statements = src.bindings(name) if src and "/" not in name else []
            if statements:
                stmt_digest, source, chains = src.statements_digest(statements)
                for chain in chains:
                    target = self._resolve_chain(vars(module), chain, module_name)
                    if target is not None and target != binding:
                        refs["=" + ".".join(chain)] = target
                digest = blake3.blake3(f"{digest}\0{stmt_digest}".encode()).hexdigest()
            else:
                self._warnings.append(
                    f"{binding} holds {', '.join(sorted(set(hasher.opaque)))}, which skipwise "
                    "cannot hash by content; register a hasher or bump version= when it changes"
                )
        return self._add(binding, "constant", digest, refs, source)

    def _value_digest(self, value: object, binding: str, refs: dict[str, str], label: str) -> str:
        return self._hasher(binding, refs, label).digest(value, binding)

    def _hasher(self, binding: str, refs: dict[str, str], label: str) -> ValueHasher:
        def code_ref(obj: object, path: str) -> str | None:
            if not _is_code(obj):
                return None
            key = self.visit(obj, path)
            refs[f"{label}:{path.removeprefix(binding)}"] = key
            return key

        return ValueHasher(strict=False, code_ref=code_ref, is_user_type=self.boundary.is_user_type)


def _is_code(obj: object) -> bool:
    return (
        isinstance(
            obj,
            types.FunctionType
            | type
            | types.ModuleType
            | functools.partial
            | types.MethodType
            | types.BuiltinFunctionType
            | staticmethod
            | classmethod
            | property,
        )
        or _unwrap_cached(obj) is not obj
        or (callable(obj) and _safe_getattr(obj, "__wrapped__") is not _MISSING)
    )


def _is_member_code(value: object) -> bool:
    return isinstance(
        value,
        types.FunctionType | staticmethod | classmethod | property | functools.cached_property,
    )


def _unwrap_cached(obj: object) -> object:
    """A skipwise-cached function stands for the function it wraps."""
    inner = getattr(type(obj), "__skipwise_wraps__", None)
    return getattr(obj, inner) if isinstance(inner, str) else obj


def _safe_getattr(obj: object, name: str) -> Any:
    try:
        return getattr(obj, name, _MISSING)
    except Exception:
        return _MISSING


def _short_repr(obj: object, limit: int = 2000) -> str:
    try:
        text = repr(obj)
    except Exception:
        return f"<{type(obj).__qualname__}>"
    if " at 0x" in text:
        return f"<{type(obj).__qualname__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."
