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
from collections.abc import Iterator

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
_SHIFTED_NAME_OPS = {"LOAD_GLOBAL"} | ({"LOAD_ATTR"} if sys.version_info >= (3, 12) else set())
if sys.version_info < (3, 12):
    _NAME_OPS.add("LOAD_ATTR")
_FREE_OPS = {"LOAD_DEREF", "LOAD_CLASSDEREF", "STORE_DEREF", "LOAD_FROM_DICT_OR_DEREF"}


def instructions(code: types.CodeType) -> list[Op]:
    """(opname, argval) of each instruction; argval only for names, constants and cells.

    ``EXTENDED_ARG`` prefixes are folded into the instruction they extend.
    """
    if not _FAST:
        return [
            (ins.opname, ins.argval)
            for ins in dis.get_instructions(code)
            if ins.opname != "EXTENDED_ARG"
        ]
    return list(_decode(code))


def _decode(code: types.CodeType) -> Iterator[Op]:
    raw = code.co_code
    names, consts = code.co_names, code.co_consts
    extended = 0
    skip = 0
    for i in range(0, len(raw), 2):
        if skip:
            skip -= 1
            continue
        op = raw[i]
        skip = _CACHES[op]
        if op < _HAVE_ARGUMENT:
            extended = 0
            yield _OPNAME[op], None
            continue
        arg = raw[i + 1] | extended
        if op == _EXTENDED_ARG:
            extended = arg << 8
            continue
        extended = 0
        name = _OPNAME[op]
        if name in _SHIFTED_NAME_OPS:
            yield name, names[arg >> 1]
        elif name in _NAME_OPS:
            yield name, names[arg]
        elif name == "LOAD_CONST":
            yield name, consts[arg]
        elif name in _FREE_OPS:
            yield name, code._varname_from_oparg(arg)  # type: ignore[attr-defined]
        else:
            yield name, None
