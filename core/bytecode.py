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
# How each op's argument becomes the value signatures use.
_NAME_OPS = {"LOAD_NAME", "STORE_GLOBAL", "IMPORT_NAME", "IMPORT_FROM", "LOAD_METHOD", "STORE_NAME"}
_NAME_OPS |= {"STORE_ATTR", "DELETE_ATTR"}
_SHIFTED_NAME_OPS = {"LOAD_GLOBAL"} | ({"LOAD_ATTR"} if sys.version_info >= (3, 12) else set())
if sys.version_info < (3, 12):
    _NAME_OPS.add("LOAD_ATTR")
_FREE_OPS = {"LOAD_DEREF", "LOAD_CLASSDEREF", "STORE_DEREF", "LOAD_FROM_DICT_OR_DEREF"}


def instructions(code: types.CodeType) -> list[Op]:
    """(opname, argval) of each instruction; argval only for names, constants and cells.

    ``EXTENDED_ARG`` prefixes are folded into the instruction they extend.
    """
    return list(zip(*columns(code), strict=True))


def columns(code: types.CodeType) -> tuple[list[str], list[object]]:
    """The same as two lists, op names and argvals: what a scan of many functions reads,
    without a tuple per instruction."""
    if not _FAST:
        ops = [ins for ins in dis.get_instructions(code) if ins.opname != "EXTENDED_ARG"]
        return [ins.opname for ins in ops], [ins.argval for ins in ops]
    return _decode(code)


# How to read each opcode: (name, bytes to the next instruction, kind of argument).
_PLAIN, _EXTEND, _NAME, _SHIFTED_NAME, _CONST, _FREE = range(6)


def _reading(op: int) -> tuple[str, int, int]:
    name = _OPNAME[op]
    step = 2 + 2 * _CACHES[op] if _CACHES else 2
    if op == _EXTENDED_ARG:
        return name, step, _EXTEND
    if op < _HAVE_ARGUMENT:
        return name, step, _PLAIN
    if name in _SHIFTED_NAME_OPS:
        return name, step, _SHIFTED_NAME
    if name in _NAME_OPS:
        return name, step, _NAME
    if name == "LOAD_CONST":
        return name, step, _CONST
    return name, step, _FREE if name in _FREE_OPS else _PLAIN


_READINGS = [_reading(op) for op in range(256)]


def _decode(code: types.CodeType) -> tuple[list[str], list[object]]:
    raw = code.co_code
    names, consts = code.co_names, code.co_consts
    ops: list[str] = []
    args: list[object] = []
    op_append, arg_append = ops.append, args.append
    readings = _READINGS
    extended = i = 0
    end = len(raw)
    while i < end:
        name, step, kind = readings[raw[i]]
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
            arg_append(names[arg])
        elif kind == _SHIFTED_NAME:
            arg_append(names[arg >> 1])
        elif kind == _CONST:
            arg_append(consts[arg])
        else:
            arg_append(code._varname_from_oparg(arg))  # type: ignore[attr-defined]
    return ops, args
