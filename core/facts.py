"""Facts about one code object, computed once per process: what it loads and what it is.

Both come from the compiled code, which the running function already has, so signing needs no
parsing. What a function *is*: its bytecode, constants and names, without the line table, the
first line number, the file name and the docstring, so comments, docstrings, formatting, code
added elsewhere in the file and the checkout's location never count; nor do ``from __future__``
flags and the names of locals that the code cannot read by name (bytecode reads them by
position). What it *loads*: global
name chains (``LOAD_GLOBAL`` then attribute loads), which bytecode tells from locals exactly.
Source text is read only to show a diff.
"""

from __future__ import annotations
import __future__

import dis
import functools
import inspect
import itertools
import marshal
import operator
import re
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass

from skipwise import bytecode, hashing
from skipwise import source as _source
from skipwise.boundary import module_label
from skipwise.memo import trim
from skipwise.values import ValueHasher

# 3.14 marks docstrings with a flag; before, a function's first constant is its docstring or None.
_CO_HAS_DOCSTRING = 0x4000000
# Flags that say which ``from __future__`` imports the module made, not what the code does (the
# code they change, if any, is in the bytecode); CO_NESTED doubles as nested_scopes' flag.
_FUTURE_FLAGS = (
    functools.reduce(
        operator.or_,
        (getattr(__future__, name).compiler_flag for name in __future__.all_feature_names),
    )
    & ~inspect.CO_NESTED
)
_IGNORED_FLAGS = _CO_HAS_DOCSTRING | _FUTURE_FLAGS
# Names through which code can read its own (or a caller's) local variables by name: then a
# local's name is part of what the code does.
_FRAME_NAMES = frozenset(
    {"locals", "vars", "eval", "exec", "dir", "breakpoint", "_getframe", "currentframe", "stack"}
    | {"trace", "getouterframes", "getinnerframes", "getframeinfo", "f_locals", "f_back"}
    | {"tb_frame", "gi_frame", "cr_frame", "ag_frame", "settrace", "setprofile"}
)


@dataclass(frozen=True, slots=True)
class FunctionFacts:
    digest: str
    location: str
    chains: tuple[tuple[str, ...], ...]  # global name chains, in bytecode order
    imports: tuple[tuple[str, int, tuple[str, ...]], ...]  # (module, level, from-names)
    attr_names: frozenset[str]
    mutated: frozenset[str]  # globals and closure names this code mutates: state, not input
    rebound: frozenset[str]  # globals this code assigns (``global x; x = ...``)
    attr_writes: frozenset[str]  # attributes it assigns, deletes or mutates in place
    dynamic: tuple[str, ...]  # "line N: eval()": what static analysis cannot follow
    # Outer names and attributes this code writes but never reads (``X[k] = v``,
    # ``global x; x = v``, ``cls.rate = r``): it sets them, as a setter or a registrar does.
    sets: frozenset[str] = frozenset()
    attr_sets: frozenset[str] = frozenset()
    # Names computed from a literal prefix, (what they are looked up on, prefix): see
    # skipwise.source.DynamicCall.
    dispatch: tuple[tuple[tuple[str, ...], str], ...] = ()


# Facts by code object, by identity (equal code from two modules is not the same function);
# code never changes, so facts never go stale. A code object is pinned while here (so its id
# is not reused), but not its module or functions; the latest _CODES are kept.
_facts: dict[int, tuple[types.CodeType, FunctionFacts]] = {}
_CODES = 20_000


def function_facts(code: types.CodeType, module_globals: dict | None) -> FunctionFacts:
    entry = _facts.get(id(code))
    if entry is not None and entry[0] is code:
        return entry[1]
    facts = _scan(code, module_globals)
    _facts[id(code)] = (code, facts)
    if len(_facts) > _CODES:
        trim(_facts, _CODES)
    return facts


def function_source(code: types.CodeType, module_globals: dict | None) -> str:
    """The function's source text, for diffs; empty when the file is gone or changed."""
    definition = _source.find_definition(
        code.co_filename, module_globals, code.co_qualname, code.co_firstlineno
    )
    return definition.text if definition else ""


def class_source(cls: type) -> str:
    """A class's source text, for diffs; empty when it cannot be found."""
    definition = class_definition(cls)
    return definition.text if definition else ""


def class_definition(cls: type) -> _source.Definition | None:
    """A class's statement, as its module's file has it now."""
    module = sys.modules.get(cls.__module__)
    return _source.find_definition(
        getattr(module, "__file__", None), vars(module) if module else None, cls.__qualname__, None
    )


def location_text(module_globals: dict | None, line: int | None) -> str:
    name = (module_globals or {}).get("__name__") or "?"
    return f"{module_label(name)}:{line}" if line else module_label(name)


def _nested_code(code: types.CodeType) -> Iterator[types.CodeType]:
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _nested_code(const)


def code_digest(code: types.CodeType, nested: tuple[types.CodeType, ...] | None = None) -> str:
    nested = nested or tuple(_nested_code(code))
    named = _named_locals(nested)
    shapes: list[bytes] = []
    for co in nested:
        consts = tuple(c for c in co.co_consts if not isinstance(c, types.CodeType))
        if _has_docstring(co):
            consts = (None, *consts[1:])
        elif not co.co_flags & inspect.CO_NEWLOCALS:  # a class body stores __doc__ by name
            docstrings = _class_docstrings(co)
            consts = tuple(None if c in docstrings else c for c in consts)
        shape = (co.co_code, co.co_exceptiontable, co.co_name, co.co_names, _varnames(co, named))
        shape += (co.co_freevars, co.co_cellvars, co.co_argcount, co.co_posonlyargcount)
        shape += (co.co_kwonlyargcount, co.co_flags & ~_IGNORED_FLAGS)
        # Marshal format 2 writes no back-references, so equal values give equal bytes.
        hasher = ValueHasher(strict=False, code_ref=lambda o, p: None, is_user_type=lambda t: False)
        shapes.append(marshal.dumps((*shape, hasher.digest(consts, "co_consts")), 2))
    return hashing.digest_fields("code", *shapes)


def _named_locals(nested: tuple[types.CodeType, ...]) -> frozenset[str] | None:
    """The local variables whose names the code can act on: those its strings mention (text
    for ``eval`` or ``df.query("x > @limit")``, which finds a local by name), or all of them
    (None) when it can read its frame (``locals()``, ``vars()``, ``sys._getframe``). Bytecode
    reads other locals by position, so renaming them changes nothing."""
    if any(not _FRAME_NAMES.isdisjoint(co.co_names) for co in nested):
        return None
    return frozenset(
        itertools.chain.from_iterable(
            _identifiers(co.co_consts[1:] if _has_docstring(co) else co.co_consts) for co in nested
        )
    )


def _varnames(co: types.CodeType, named: frozenset[str] | None) -> tuple[str, ...]:
    """Argument names (keyword calls use them) and the names of the locals in ``named``; other
    locals count by number only."""
    arguments = co.co_argcount + co.co_kwonlyargcount
    arguments += bool(co.co_flags & inspect.CO_VARARGS) + bool(co.co_flags & inspect.CO_VARKEYWORDS)
    if named is None:
        return co.co_varnames
    local = co.co_varnames[arguments:]
    return co.co_varnames[:arguments] + tuple(n if n in named else "" for n in local)


def _has_docstring(co: types.CodeType) -> bool:
    if sys.version_info >= (3, 14):
        return bool(co.co_flags & _CO_HAS_DOCSTRING)
    is_function = bool(co.co_flags & inspect.CO_NEWLOCALS) and not co.co_name.startswith("<")
    return is_function and bool(co.co_consts) and isinstance(co.co_consts[0], str)


def _class_docstrings(co: types.CodeType) -> set[object]:
    ops = bytecode.instructions(co)
    return {
        value
        for (op, value), (following, name) in itertools.pairwise(ops)
        if op == "LOAD_CONST" and following == "STORE_NAME" and name == "__doc__"
    }


def leading_words(code: types.CodeType) -> frozenset[str]:
    """The word each string constant of the code (and its nested code) begins with: the
    prefixes of names the code may build (``getattr(self, "visit_" + kind)``)."""
    return frozenset(
        match.group()
        for co in _nested_code(code)
        for const in co.co_consts
        if type(const) is str and (match := _WORD.match(const))
    )


_MUTATORS = _source.MUTATORS
_OUTER_LOADS = ("LOAD_GLOBAL", "LOAD_NAME", "LOAD_DEREF", "LOAD_CLASSDEREF")
_SIMPLE_LOADS = ("LOAD_FAST", "LOAD_CONST", "LOAD_GLOBAL", "LOAD_DEREF", "LOAD_NAME")
# What an instruction means to the scan (instructions not listed mean nothing to it), ordered
# so related roles compare as ranges: a chain goes on through attributes; a local may be a module
# imported in the body; a global starts a chain; from _OUTER_LOCAL up, an instruction can mutate
# an outer name.
_ATTRIBUTE_STORE, _ATTRIBUTE, _IMPORT, _IMPORT_FROM, _LOCAL, _OUTER_LOCAL, _GLOBAL, _MUTATION = (
    range(8)
)
_ATTRIBUTE_OPS = frozenset({"LOAD_ATTR", "LOAD_METHOD"})
_ROLES = dict.fromkeys(_ATTRIBUTE_OPS, _ATTRIBUTE) | {
    "STORE_ATTR": _ATTRIBUTE_STORE,
    "DELETE_ATTR": _ATTRIBUTE_STORE,
    "IMPORT_NAME": _IMPORT,
    "IMPORT_FROM": _IMPORT_FROM,
    "LOAD_FAST": _LOCAL,
    "LOAD_DEREF": _OUTER_LOCAL,
    "LOAD_CLASSDEREF": _OUTER_LOCAL,
    "LOAD_GLOBAL": _GLOBAL,
    "LOAD_NAME": _GLOBAL,
    "STORE_SUBSCR": _MUTATION,
    "DELETE_SUBSCR": _MUTATION,
    "STORE_GLOBAL": _MUTATION,
    "STORE_DEREF": _MUTATION,
}


def _scan(code: types.CodeType, module_globals: dict | None) -> FunctionFacts:
    chains: dict[tuple[str, ...], None] = {}
    imports: list[tuple[str, int, list[str]]] = []
    names: set[str] = set()
    mutated: set[str] = set()
    attr_writes: set[str] = set()
    rebound: set[str] = set()
    nested = tuple(_nested_code(code))
    decoded: list[tuple[types.CodeType, list[str], list[object]]] = []
    # getattr and hasattr are the builtins unless the module binds its own.
    narrow = _BY_NAME_READERS.isdisjoint(module_globals or ())
    for co in nested:
        names.update(co.co_names)
        # A docstring is no code: the names it mentions reach nothing.
        names.update(_identifiers(co.co_consts[1:] if _has_docstring(co) else co.co_consts))
        ops, args = bytecode.columns(co)
        decoded.append((co, ops, args))
        aliases: dict[str, tuple[str, int]] = {}  # local name -> module imported in the body
        end = len(ops)
        chained = -1  # the last instruction taken into a chain
        for i in [i for i, op in enumerate(ops) if op in _ROLES]:
            role = _ROLES[ops[i]]
            if role <= _ATTRIBUTE:
                # `x.attr = v`, `del x.attr`, `x.attr.append(v)`: an attribute written.
                if role == _ATTRIBUTE_STORE or (
                    i + 1 < end and ops[i + 1] in _ATTRIBUTE_OPS and args[i + 1] in _MUTATORS
                ):
                    attr_writes.add(args[i])  # type: ignore[arg-type]
                continue
            if i <= chained:
                continue
            argval = args[i]
            chain: list | None = None
            if role == _GLOBAL:
                chain = [argval]
            elif _LOCAL <= role <= _OUTER_LOCAL and argval in aliases:
                module, level = aliases[argval]
                chain = [IMPORTED_MODULE, module, str(level)]  # `import m` in the body, then m.f
            if chain is not None:
                chained = i + 1
                while chained < end and ops[chained] in _ATTRIBUTE_OPS:
                    chain.append(args[chained])
                    chained += 1
                chained -= 1
                if narrow and (name := _literal_attribute(ops, args, i, chained)):
                    chain.append(name)  # getattr(m, "f"): m.f, not the whole of m
                chains[tuple(chain)] = None
            if role >= _OUTER_LOCAL:
                _note_mutation(ops, args, i, co, mutated, attr_writes)
                if ops[i] == "STORE_GLOBAL":
                    rebound.add(argval)  # type: ignore[arg-type]
            elif role == _IMPORT:
                level = args[i - 2] if i >= 2 else 0
                level = level if isinstance(level, int) else 0
                imports.append((argval, level, []))
                if i + 1 < end and ops[i + 1] in _LOCAL_STORES:
                    # `import a.b` binds the top package a; `import m as x` binds m.
                    top = argval.partition(".")[0]
                    aliases[args[i + 1]] = (top if args[i + 1] == top else argval, level)
            elif role == _IMPORT_FROM and imports:
                imports[-1][2].append(argval)
    dynamic = _dynamic(code, module_globals, names)
    sets, attr_sets = _sets(decoded, mutated | rebound, attr_writes)
    return FunctionFacts(
        digest=code_digest(code, nested),
        location=location_text(module_globals, code.co_firstlineno),
        chains=tuple(chains),
        imports=tuple((m, lvl, tuple(fr)) for m, lvl, fr in imports),
        attr_names=frozenset(names),
        mutated=frozenset(mutated),
        rebound=frozenset(rebound),
        attr_writes=frozenset(attr_writes),
        dynamic=tuple(dict.fromkeys(call.message for call in dynamic)) if dynamic else (),
        dispatch=tuple(dict.fromkeys((c.target, c.prefix) for c in dynamic if c.prefix))
        if dynamic
        else (),
        sets=sets,
        attr_sets=attr_sets,
    )


# Methods that change a container without telling the caller what it held (``setdefault``,
# ``pop`` and ``get`` do tell: a use of one reads the container).
_BLIND_MUTATORS = frozenset(
    {"append", "extend", "insert", "remove", "discard", "clear", "update", "add", "sort"}
    | {"reverse", "appendleft", "extendleft", "__setitem__", "__delitem__"}
)


def _sets(
    decoded: list[tuple[types.CodeType, list[str], list[object]]],
    written: set[str],
    attr_written: set[str],
) -> tuple[frozenset[str], frozenset[str]]:
    """Of the outer names and attributes the code writes, those it never reads: every load of
    one is the receiver of a subscript store or delete or of a blind mutator call."""
    if not written and not attr_written:
        return frozenset(), frozenset()
    read: set[str] = set()
    attr_read: set[str] = set()
    for co, ops, args in decoded:
        receivers: set[int] = set()  # loads that only receive a write
        for i, op in enumerate(ops):
            if op in ("STORE_SUBSCR", "DELETE_SUBSCR") and i >= 2:
                container = i - 2 if ops[i - 1] in _SIMPLE_LOADS else _before_key(co, i)
                if container is not None:
                    receivers.add(container)
            elif op in _ATTRIBUTE_OPS and args[i] in _BLIND_MUTATORS and i > 0:
                receivers.add(i - 1)
        for i, op in enumerate(ops):
            if i in receivers:
                continue
            if op in _OUTER_LOADS:
                read.add(args[i])  # type: ignore[arg-type]
            elif op in _ATTRIBUTE_OPS and args[i] not in _BLIND_MUTATORS:
                attr_read.add(args[i])  # type: ignore[arg-type]
    return frozenset(written - read), frozenset(attr_written - attr_read)


_BY_NAME_READERS = frozenset({"getattr", "hasattr"})
_CALLS = ("PRECALL", "CALL")


def _literal_attribute(ops: list[str], args: list[object], start: int, last: int) -> str | None:
    """The name in ``getattr(m.a, "name"[, default])`` or ``hasattr(m.a, "name")`` when the
    chain ``m.a`` spans ``ops[start:last + 1]``: the call reads that one attribute."""
    after = last + 1
    if start < 1 or ops[start - 1] != "LOAD_GLOBAL" or args[start - 1] not in _BY_NAME_READERS:
        return None
    name = args[after] if after < len(ops) and ops[after] == "LOAD_CONST" else None
    if not (isinstance(name, str) and name.isidentifier()):
        return None
    rest = ops[after + 1 : after + 3]
    if rest[:1] == ["LOAD_CONST"]:  # getattr's default
        rest = rest[1:]
    return name if rest[:1] and rest[0] in _CALLS else None


IMPORTED_MODULE = (
    "<imported>"  # first element of a chain that starts at a module imported in a body
)
_LOCAL_STORES = ("STORE_FAST", "STORE_NAME", "STORE_DEREF", "STORE_GLOBAL")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _identifiers(consts: tuple[object, ...]) -> Iterator[str]:
    """Names a method could be reached by: words in string constants (``"{r.amount}"``,
    ``attrgetter("total")``), also inside tuples (``match`` class patterns)."""
    for const in consts:
        if isinstance(const, str):
            yield from _WORD.findall(const) if len(const) < 10_000 else ()
        elif isinstance(const, (tuple, frozenset)):
            yield from _identifiers(tuple(const))


def _dynamic(
    code: types.CodeType, module_globals: dict | None, names: set[str]
) -> list[_source.DynamicCall]:
    """Calls analysis cannot follow; the source is parsed only for code that names one."""
    if not names & _source.DYNAMIC_NAMES:
        return []
    definition = _source.find_definition(
        code.co_filename, module_globals, code.co_qualname, code.co_firstlineno
    )
    if definition is None:
        used = sorted(names & _source.DYNAMIC_NAMES)
        return [_source.DynamicCall(f"a call to {', '.join(used)} (no source to check)")]
    return _source.dynamic_calls(definition.node)


def _before_key(co: types.CodeType, i: int) -> int | None:
    """The instruction before the key expression that instruction ``i`` (a subscript store)
    consumes: the key is the shortest run of instructions before ``i`` that pushes one value.
    Rare (keys are mostly a name or a constant), so ``dis`` reads the stack effects."""
    instructions = [ins for ins in dis.get_instructions(co) if ins.opname != "EXTENDED_ARG"]
    pushed = 0
    for j in range(i - 1, 0, -1):
        ins = instructions[j]
        if ins.is_jump_target or "JUMP" in ins.opname:
            return None  # a conditional key expression: not followed
        try:
            pushed += dis.stack_effect(ins.opcode, ins.arg, jump=False)
        except ValueError:
            return None
        if pushed == 1:
            return j - 1
    return None


def _note_mutation(
    ops: list[str],
    args: list[object],
    i: int,
    co: types.CodeType,
    out: set[str],
    attributes: set[str],
) -> None:
    op, argval = ops[i], args[i]
    if op in _OUTER_LOADS and i + 1 < len(ops):
        if ops[i + 1] in _ATTRIBUTE_OPS and args[i + 1] in _MUTATORS:
            out.add(argval)  # type: ignore[arg-type]
    elif op in ("STORE_SUBSCR", "DELETE_SUBSCR") and i >= 2:
        # The container is loaded just before the key: `X[k] = v`, `x.attr[f(k)] = v`.
        container = i - 2 if ops[i - 1] in _SIMPLE_LOADS else _before_key(co, i)
        if container is None:
            return
        if ops[container] in _OUTER_LOADS:
            out.add(args[container])  # type: ignore[arg-type]
        elif ops[container] in _ATTRIBUTE_OPS:
            attributes.add(args[container])  # type: ignore[arg-type]
    elif op in ("STORE_GLOBAL", "STORE_DEREF") and argval not in co.co_cellvars:
        out.add(argval)  # type: ignore[arg-type]
