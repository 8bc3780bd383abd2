"""A lean reader of the instructions signatures need: op name and resolved argument.

``dis.get_instructions`` builds a full ``Instruction`` (positions, reprs, jump targets) for
every opcode, which dominates the cost of signing a large codebase cold. This reader decodes
``co_code`` directly on the CPython versions whose inline-cache layout it knows (3.11, 3.12)
and falls back to ``dis`` everywhere else; a test checks that both agree.
"""

from __future__ import annotations

import dis
import sys
import types

Op = tuple[str, object]  # (opname, argval)

_CACHES = (
    dis._inline_cache_entries
    if isinstance(getattr(dis, "_inline_cache_entries", None), list)
    else None
)
_FAST = _CACHES is not None and sys.version_info[:2] in ((3, 11), (3, 12))
_OPNAME = dis.opname
_EXTENDED_ARG = dis.EXTENDED_ARG
_HAVE_ARGUMENT = dis.HAVE_ARGUMENT
# The ops whose argument the reader resolves as ``dis`` does (the test compares them on the
# whole standard library); every other op's argument is None.
_CONST_OPS = {"LOAD_CONST", "RETURN_CONST"} & set(dis.opmap)  # dis leaves KW_NAMES unresolved
RESOLVED = frozenset(_OPNAME[op] for op in (*dis.hasname, *dis.haslocal, *dis.hasfree))
RESOLVED |= _CONST_OPS
# Name ops whose argument carries flags in its low bits.
_SHIFTED = {"LOAD_GLOBAL": 1}
if sys.version_info >= (3, 12):
    _SHIFTED |= {"LOAD_ATTR": 1, "LOAD_SUPER_ATTR": 2}


def instructions(code: types.CodeType) -> list[Op]:
    """(opname, argval) of each instruction; argval only for the ops in :data:`RESOLVED`
    (names, constants, locals and cells).

    ``EXTENDED_ARG`` prefixes are folded into the instruction they extend.
    """
    return list(zip(*columns(code), strict=True))


def columns(code: types.CodeType) -> tuple[list[str], list[object]]:
    """The same as two lists, op names and argvals: what a scan of many functions reads,
    without a tuple per instruction."""
    if not _FAST:
        ops = [ins for ins in dis.get_instructions(code) if ins.opname != "EXTENDED_ARG"]
        return [ins.opname for ins in ops], [
            ins.argval if ins.opname in RESOLVED else None for ins in ops
        ]
    return _decode(code)


# How to read each opcode: (name, bytes to the next instruction, kind of argument, shift).
_PLAIN, _EXTEND, _NAME, _CONST, _LOCAL = range(5)


def _reading(op: int) -> tuple[str, int, int, int]:
    name = _OPNAME[op]
    step = 2 + 2 * _CACHES[op] if _CACHES else 2
    if op == _EXTENDED_ARG:
        return name, step, _EXTEND, 0
    if op < _HAVE_ARGUMENT or name not in RESOLVED:
        return name, step, _PLAIN, 0
    if op in dis.hasname:
        return name, step, _NAME, _SHIFTED.get(name, 0)
    return name, step, _CONST if name in _CONST_OPS else _LOCAL, 0


_READINGS = [_reading(op) for op in range(256)]


def _decode(code: types.CodeType) -> tuple[list[str], list[object]]:
    raw = code.co_code
    names, consts, local_names = code.co_names, code.co_consts, _locals_plus(code)
    ops: list[str] = []
    args: list[object] = []
    op_append, arg_append = ops.append, args.append
    readings = _READINGS
    extended = i = 0
    end = len(raw)
    while i < end:
        name, step, kind, shift = readings[raw[i]]
        arg = raw[i + 1] | extended
        i += step
        extended = 0
        if kind == _EXTEND:
            extended = arg << 8
            continue
        op_append(name)
        if kind == _PLAIN:
            arg_append(None)
        elif kind == _NAME:
            arg_append(names[arg >> shift])
        elif kind == _CONST:
            arg_append(consts[arg])
        else:
            arg_append(local_names[arg])
    return ops, args


def _locals_plus(code: types.CodeType) -> list[str]:
    """The names of the frame's slots (arguments and locals, then cells, then free variables),
    which ``*_FAST`` and ``*_DEREF`` arguments index; a cell that is also an argument shares
    its slot, so the table is read from the interpreter rather than built by hand."""
    slots: list[str] = []
    for i in range(len(code.co_varnames) + len(code.co_cellvars) + len(code.co_freevars)):
        try:
            slots.append(code._varname_from_oparg(i))  # type: ignore[attr-defined]
        except IndexError:
            break
    return slots
