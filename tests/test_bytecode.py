"""The lean bytecode reader agrees with ``dis`` on every function of a large corpus."""

from __future__ import annotations

import dis
import importlib
import types

from skipwise import bytecode

# Modules with many functions of every shape: comprehensions, closures, try/except, async.
CORPUS = ["asyncio.base_events", "email.message", "json.decoder", "argparse", "inspect", "typing"]
CORPUS += ["pathlib", "dataclasses", "enum", "functools", "tarfile", "zipfile", "ast", "difflib"]
NEEDED = {"LOAD_GLOBAL", "LOAD_NAME", "LOAD_ATTR", "LOAD_METHOD", "STORE_GLOBAL", "IMPORT_NAME"}
NEEDED |= {"IMPORT_FROM", "LOAD_CONST", "LOAD_DEREF", "LOAD_CLASSDEREF", "STORE_DEREF"}
NEEDED |= {"STORE_ATTR", "DELETE_ATTR"}


def code_objects(code: types.CodeType):
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from code_objects(const)


def test_reader_matches_dis_on_a_corpus() -> None:
    checked = 0
    for name in CORPUS:
        module = importlib.import_module(name)
        with open(module.__file__) as handle:
            top = compile(handle.read(), module.__file__, "exec")
        for code in code_objects(top):
            expected = [
                (i.opname, i.argval if i.opname in NEEDED else None)
                for i in dis.get_instructions(code)
                if i.opname != "EXTENDED_ARG"  # the reader folds it into the next instruction
            ]
            got = [(op, arg if op in NEEDED else None) for op, arg in bytecode.instructions(code)]
            assert got == expected, f"{name}: {code.co_qualname}"
            checked += 1
    assert checked > 1000
