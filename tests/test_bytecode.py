"""The lean bytecode reader agrees with ``dis`` on every code object of the standard library."""

from __future__ import annotations

import dis
import importlib
import importlib.util
import marshal
import sys
import sysconfig
import types
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from skipwise import bytecode

# Modules with many functions of every shape: comprehensions, closures, try/except, async.
CORPUS = ["asyncio.base_events", "email.message", "json.decoder", "argparse", "inspect", "typing"]
CORPUS += ["pathlib", "dataclasses", "enum", "functools", "tarfile", "zipfile", "ast", "difflib"]


def code_objects(code: types.CodeType) -> Iterator[types.CodeType]:
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from code_objects(const)


def standard_library() -> Iterator[tuple[str, types.CodeType]]:
    """Every module of the standard library, compiled (from its cached bytecode when there is
    one, which is what ``compile`` would give, but read in a fraction of the time)."""
    root = Path(sysconfig.get_paths()["stdlib"])
    for path in sorted(root.rglob("*.py")):
        if "site-packages" in path.parts:
            continue
        try:
            with open(importlib.util.cache_from_source(str(path)), "rb") as handle:
                code = marshal.loads(handle.read()[16:])  # after the pyc header
        except (OSError, ValueError, EOFError):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # test data written to warn
                    code = compile(path.read_bytes(), str(path), "exec")
            except (SyntaxError, ValueError):
                continue  # test data written to be broken
        yield str(path.relative_to(root)), code


def by_dis(code: types.CodeType) -> list[tuple[str, object]]:
    return [
        (i.opname, i.argval if i.opname in bytecode.RESOLVED else None)
        for i in dis.get_instructions(code)
        if i.opname != "EXTENDED_ARG"  # the reader folds it into the next instruction
    ]


_SHIFTED = {dis.opmap["LOAD_GLOBAL"]: 1}
if sys.version_info >= (3, 12):
    _SHIFTED |= {dis.opmap["LOAD_ATTR"]: 1, dis.opmap["LOAD_SUPER_ATTR"]: 2}
_CONSTS = {dis.opmap[name] for name in ("LOAD_CONST", "RETURN_CONST") if name in dis.opmap}
_NAMES, _LOCALS = set(dis.hasname), {*dis.haslocal, *dis.hasfree}


def by_dis_tables(code: types.CodeType) -> tuple[list[str], list[object]]:
    """What ``dis`` makes of the code, from its own decoding (instruction boundaries, inline
    caches, ``EXTENDED_ARG``) and tables, without building an ``Instruction`` per op (ten times
    slower): the arguments as ``dis.get_instructions`` resolves them (dis resolves no constant
    op but these two)."""
    names, consts, local = code.co_names, code.co_consts, code._varname_from_oparg  # type: ignore[attr-defined]
    ops, args = [], []
    for _, op, arg in dis._unpack_opargs(code.co_code):  # type: ignore[attr-defined]
        if op == dis.EXTENDED_ARG:
            continue
        ops.append(dis.opname[op])
        if op in _CONSTS:
            args.append(consts[arg])
        elif op in _NAMES:
            args.append(names[arg >> _SHIFTED.get(op, 0)])
        elif op in _LOCALS:
            args.append(local(arg))
        else:
            args.append(None)
    return ops, args


def test_reader_resolves_every_name_constant_local_and_cell() -> None:
    assert {"LOAD_FAST", "STORE_FAST", "DELETE_FAST", "LOAD_DEREF", "STORE_DEREF"} <= (
        bytecode.RESOLVED
    )
    assert {"LOAD_GLOBAL", "LOAD_ATTR", "IMPORT_NAME", "LOAD_CONST"} <= bytecode.RESOLVED


def test_reader_matches_dis_on_a_corpus() -> None:
    """``dis.get_instructions`` itself, on modules with code of every shape."""
    checked = 0
    for name in CORPUS:
        module = importlib.import_module(name)
        with open(module.__file__) as handle:
            top = compile(handle.read(), module.__file__, "exec")
        for code in code_objects(top):
            expected = by_dis(code)
            assert bytecode.instructions(code) == expected, f"{name}: {code.co_qualname}"
            reference = list(zip(*by_dis_tables(code), strict=True))
            assert (
                reference == expected
            )  # the reference the whole-library test uses reads dis alike
            checked += 1
    assert checked > 1000


@pytest.mark.skipif(not bytecode._FAST, reason="this Python is read by dis itself")
def test_reader_matches_dis_on_the_whole_standard_library() -> None:
    modules = checked = 0
    for name, top in standard_library():
        modules += 1
        for code in code_objects(top):
            assert bytecode.columns(code) == by_dis_tables(code), f"{name}: {code.co_qualname}"
            checked += 1
    assert modules > 1000 and checked > 50_000


def test_locals_are_named() -> None:
    """A local stored after an import in the body is that local, not the module."""

    def body():
        import json

        y = []
        y.append(json.dumps(y))
        return y

    ops = bytecode.instructions(body.__code__)
    assert ("STORE_FAST", "json") in ops and ("STORE_FAST", "y") in ops
    assert ("LOAD_FAST", "y") in ops
