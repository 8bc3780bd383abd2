"""Change cases for the signature engine: each edit must (or must not) change the signature.

A case is a small project (files), an edit (exact text replacements, each of which must apply;
one whose old text is empty adds a file), the function to sign and what the edit must do to its
signature. Data files are files like any other, and the project's ``environment.json`` sets the
environment variables the signing process sees (null: unset), so edits can change data and
environment too. Signing runs in the project folder (relative paths resolve there).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from textwrap import dedent

RERUN, REUSE = "rerun", "reuse"
ENVIRONMENT = "environment.json"


@dataclass(frozen=True)
class Case:
    id: str
    expect: str
    edits: tuple[tuple[str, str, str], ...]  # (file, old text, new text)
    files: dict[str, str] = field(default_factory=dict)
    target: str = "pipe:task"
    args: tuple = (2,)
    warns: str = ""  # a warning the signing must give (regex); any other fails the case


def _files(files: dict[str, str]) -> dict[str, str]:
    return {path: dedent(src) for path, src in files.items()}


BASE = _files(
    {
        "helpers.py": """
        FACTOR = 3


        def inner(x):
            return x - 1


        def scale(x):
            # multiply by the factor
            return inner(x) * FACTOR


        def unrelated():
            return 42
        """,
        "pipe.py": """
        from helpers import scale

        OFFSET = 1
        UNUSED = 5


        def task(x):
            \"\"\"Scale and shift.\"\"\"
            return scale(x) + OFFSET
        """,
    }
)

MODULES = _files(
    {
        "pipe.py": """
        import tools
        import tools as t
        from tools import f
        from stars import *


        def task(x):
            return tools.a(x) + t.b(x) + f(x) + star_fn(x) + tools.CONST
        """,
        "tools.py": """
        CONST = 10


        def a(x):
            return x + 1


        def b(x):
            return x + 2


        def f(x):
            return x + 3
        """,
        "stars.py": """
        def star_fn(x):
            return x * 2
        """,
    }
)

PACKAGE = _files(
    {
        "pkg/__init__.py": "",
        "pkg/util.py": """
        def helper(x):
            return x + 1
        """,
        "pkg/sub/__init__.py": "",
        "pkg/sub/deep.py": """
        LIMIT = 5


        def clip(x):
            return min(x, LIMIT)
        """,
        "pkg/steps.py": """
        from .util import helper
        from . import sub
        import pkg.sub.deep


        def task(x):
            return helper(x) + pkg.sub.deep.clip(x)
        """,
    }
)

CONSTANTS = _files(
    {
        "pipe.py": """
        import enum
        import settings

        A = 2
        B = A * 10
        MAPPING = {"a": 1, "b": 2}
        ITEMS = [1, 2, 3]
        TAGS = {"x", "y", "z"}
        PAIR = (1, 2)
        LABEL = "fare"


        class Color(enum.Enum):
            RED = 1
            BLUE = 2


        def task(x):
            return (x + B + MAPPING["a"] + sum(ITEMS) + len(TAGS) + PAIR[0]
                    + len(LABEL) + Color.RED.value + settings.THRESHOLD)
        """,
        "settings.py": """
        THRESHOLD = 7
        """,
    }
)

CLASSES = _files(
    {
        "pipe.py": """
        import dataclasses


        class Base:
            def shared(self, x):
                return x + 100


        class Scaler(Base):
            kind = "linear"

            def __init__(self, k):
                self.k = k

            def apply(self, x):
                return x * self.k + self.helper()

            def helper(self):
                return 1

            @property
            def doubled(self):
                return self.k * 2

            @staticmethod
            def unit():
                return 1

            @classmethod
            def make(cls):
                return cls(3)

            def unreachable(self):
                return "not called"


        @dataclasses.dataclass
        class Config:
            rate: float = 0.5
            name: str = "cfg"


        def task(x):
            s = Scaler.make()
            return (s.apply(x) + s.doubled + Scaler.unit() + len(Scaler.kind)
                    + s.shared(x) + Config().rate)
        """,
    }
)

CALLABLES = _files(
    {
        "pipe.py": """
        import functools


        def deco(fn):
            @functools.wraps(fn)
            def wrapper(*args):
                return fn(*args) + 1
            return wrapper


        @deco
        def decorated(x):
            return x * 2


        def mul(a, b):
            return a * b


        triple = functools.partial(mul, 3)
        square = lambda v: v * v


        def fast(x):
            return x + 1


        def slow(x):
            return x + 1.0


        helper = fast


        @functools.lru_cache(maxsize=None)
        def memo(x):
            return x + 5


        def make_adder(n):
            def add(x):
                return x + n
            return add


        add3 = make_adder(3)


        def callback(v):
            return v - 1


        def default_fn(v):
            return v * 10


        def task(x, k=4, fn=default_fn):
            values = list(map(callback, [x, x]))
            return (decorated(x) + triple(x) + square(x) + helper(x) + memo(x) + add3(x)
                    + sum(values) + k + fn(x) + getattr(Thing(), "name")())


        class Thing:
            def name(self):
                return 7
        """,
    }
)


# Library objects that cannot be hashed by value (an engine, a ufunc), bound in one module and
# imported into others: hashed by the statement that binds them, wherever it is.
BINDINGS = _files(
    {
        "db.py": """
        import sqlalchemy

        URL = "sqlite:///:memory:"
        ENGINE = sqlalchemy.create_engine(URL)
        UNRELATED = 1
        """,
        "store/__init__.py": """
        from .engines import ENGINE
        from .ufuncs import *
        """,
        "store/engines.py": """
        import sqlalchemy

        from .settings import ECHO

        ENGINE = sqlalchemy.create_engine("sqlite:///:memory:", echo=ECHO)
        """,
        "store/settings.py": """
        ECHO = False
        """,
        "store/ufuncs.py": """
        import numpy as np


        def _square(v):
            return v * v


        SQUARE = np.frompyfunc(_square, 1, 1)
        """,
        "conn.py": """
        from store import ENGINE as DB

        TIMEOUT = 3
        """,
        "registry.py": """
        SEEN = {"seed": 1}
        """,
        "pipe.py": """
        import db
        from conn import DB
        from db import ENGINE
        from registry import SEEN
        from store import SQUARE


        def by_name(x):
            return ENGINE.dialect.name, x


        def by_module(x):
            return db.ENGINE.dialect.name, x


        def chained(x):
            return DB.echo, x


        def reexported(x):
            return int(SQUARE(x))


        def memo(x):
            SEEN.setdefault(x, x * 2)
            return SEEN["seed"] + SEEN[x]
        """,
    }
)

# Base class order and class keywords (consumed by __init_subclass__, kept nowhere).
BASES = _files(
    {
        "pipe.py": """
        _SCALES = {}


        class A:
            def run(self):
                return 1


        class B:
            def run(self):
                return 2


        class Mixed(A, B):
            pass


        class Scaled:
            def __init_subclass__(cls, scale=1, **kwargs):
                super().__init_subclass__(**kwargs)
                _SCALES[cls] = scale

            def apply(self, x):
                return x * _SCALES.setdefault(type(self), 1)


        class Double(Scaled, scale=2):
            pass


        def task(x):
            return Mixed().run() + Double().apply(x)
        """,
    }
)

# Annotations that user decorators, typing.get_type_hints and validation libraries read at run
# time: evaluated ones, and postponed ones (strings) with the names they would resolve.
ANNOTATIONS = _files(
    {
        "convert.py": """
        import functools


        def coerce(fn):
            @functools.wraps(fn)
            def wrapper(x):
                return fn(fn.__annotations__["x"](x))
            return wrapper


        @coerce
        def double(x: int):
            return x * 2
        """,
        "hints.py": """
        from __future__ import annotations

        import functools
        import typing


        def returns(fn):
            @functools.wraps(fn)
            def wrapper(x):
                hints = typing.get_type_hints(fn)
                return hints["return"](fn(hints["x"](x)))
            return wrapper


        class Money:
            def __init__(self, amount):
                self.amount = round(amount, 2)

            def __float__(self):
                return float(self.amount)

            def describe(self):
                return f"{self.amount:.2f}"


        @returns
        def price(x: Money) -> float:
            return x
        """,
        "models.py": """
        from __future__ import annotations

        from typing import Annotated

        import pydantic


        def _cents(v):
            return round(v, 2)


        Amount = Annotated[float, pydantic.AfterValidator(_cents)]


        class Order(pydantic.BaseModel):
            total: Amount
            note: dict[str,int] = {}
        """,
        "pipe.py": """
        from convert import double
        from hints import price
        from models import Order


        def task(x):
            return double(x) + price(x) + Order(total=x).total
        """,
    }
)


# Names computed from a literal prefix: every member (or module attribute) with the prefix
# counts, and skipwise still warns.
DISPATCH = _files(
    {
        "handlers.py": """
        def step_clean(rows):
            return [r for r in rows if r]


        def step_sum(rows):
            return sum(rows)
        """,
        "pipe.py": """
        import sys

        import handlers


        class Loader:
            def load(self, kind, path):
                return getattr(self, f"_handle_{kind}")(path)

            def _handle_csv(self, path):
                return path + ".csv"

            def _handle_json(self, path):
                return path + ".json"

            def describe(self):
                return "loader"


        class Exporter:
            def export(self, kind, rows):
                return getattr(self, "_to_%s" % kind)(rows)

            def _to_csv(self, rows):
                return ",".join(map(str, rows))


        class Formatter:
            def render(self, kind, rows):
                return getattr(self, "_fmt_{}".format(kind))(rows)

            def _fmt_csv(self, rows):
                return ";".join(map(str, rows))


        def load_csv(path):
            return "data/" + path


        def run_csv(path):
            return path.upper()


        def by_method(kind):
            return Loader().load(kind, "data")


        def by_percent(kind):
            return Exporter().export(kind, [1, 2])


        def by_format(kind):
            return Formatter().render(kind, [3])


        def by_module(kind):
            return getattr(handlers, "step_" + kind)([1, 0, 2])


        def by_own_module(kind):
            return getattr(sys.modules[__name__], f"load_{kind}")("x")


        def by_globals(kind):
            return globals()[f"run_{kind}"]("x")
        """,
    }
)

READS = _files(
    {
        "pipe.py": """
        import json
        import os
        from pathlib import Path

        import settings
        import yaml

        HERE = Path(__file__).parent
        CONFIG = "config/app.json"
        YEAR = 2024


        def load_rates():
            return (HERE / "data" / f"rates_{YEAR}.csv").read_text()


        def task(x):
            local = os.path.join(os.path.dirname(__file__), "data", "local.txt")
            with open(local) as handle:
                extra = handle.read()
            with open("out.txt", "w") as out:  # an output, not an input
                out.write(extra)
            options = yaml.safe_load(open(settings.OPTIONS))
            return (
                x
                + len(load_rates())
                + len(extra)
                + len(json.load(open(CONFIG)))
                + len(Path("notes/readme.md").read_text())
                + len(options)
                + len(os.environ["RATE_MODE"])
                + len(os.environ.get("REGION", "eu"))
                + len(os.getenv("DEBUG_LEVEL") or "")
            )
        """,
        "settings.py": """
        from pathlib import Path

        OPTIONS = Path(__file__).parent / "config" / "options.yaml"
        """,
        "data/rates_2024.csv": "day,rate\n1,0.5\n",
        "data/local.txt": "local\n",
        "config/app.json": '{"scale": 2}\n',
        "config/options.yaml": "mode: fast\n",
        "notes/readme.md": "# notes\n",
        "out.txt": "old output\n",
        ENVIRONMENT: '{"RATE_MODE": "daily", "REGION": null, "DEBUG_LEVEL": null, "OTHER": "1"}',
    }
)

PANDAS_READ = _files(
    {
        "pipe.py": """
        from pathlib import Path

        import pandas as pd


        def task(x):
            frame = pd.read_csv(Path(__file__).parent / "rates.csv")
            return float(frame["rate"].sum()) + x
        """,
        "rates.csv": "day,rate\n1,0.5\n",
    }
)

PATH_ARGUMENTS = _files(
    {
        "pipe.py": """
        import skipwise


        def task(path):
            with path.open() as handle:
                return handle.read()


        @skipwise.cached(depends_on=[skipwise.File("inbox/*.csv"), skipwise.Env("TOKEN_SCOPE")])
        def declared(x):
            return x
        """,
        "data.csv": "a\n1\n",
        "folder/a.csv": "a\n1\n",
        "inbox/first.csv": "a\n1\n",
        ENVIRONMENT: '{"TOKEN_SCOPE": "read"}',
    }
)


def edit(file: str, old: str, new: str) -> tuple[str, str, str]:
    return (file, old, new)


CASES = [
    # --- the function itself ------------------------------------------------------------
    Case("body", RERUN, (edit("pipe.py", "+ OFFSET", "- OFFSET"),), BASE),
    Case(
        "comment in body",
        REUSE,
        (edit("pipe.py", '    """Scale', '    # note\n    """Scale'),),
        BASE,
    ),
    Case("docstring", REUSE, (edit("pipe.py", "Scale and shift.", "Scales, then shifts."),), BASE),
    Case(
        "formatting",
        REUSE,
        (edit("pipe.py", "return scale(x) + OFFSET", "return (scale(x)\n            +   OFFSET)"),),
        BASE,
    ),
    Case(
        "code added above",
        REUSE,
        (edit("pipe.py", "OFFSET = 1\n", "OFFSET = 1\n\n\ndef added():\n    return 1\n"),),
        BASE,
    ),
    Case("unrelated constant", REUSE, (edit("pipe.py", "UNUSED = 5", "UNUSED = 6"),), BASE),
    Case(
        "version bump",
        RERUN,
        (
            edit(
                "pipe.py",
                "def task(x):",
                "import skipwise\n\n\n@skipwise.cached(version=2)\ndef task(x):",
            ),
        ),
        BASE,
    ),
    # --- helpers ------------------------------------------------------------------------
    Case(
        "helper body",
        RERUN,
        (edit("helpers.py", "inner(x) * FACTOR", "inner(x) * FACTOR + 0"),),
        BASE,
    ),
    Case("helper of helper", RERUN, (edit("helpers.py", "return x - 1", "return x - 2"),), BASE),
    Case(
        "helper comment",
        REUSE,
        (edit("helpers.py", "# multiply by the factor", "# times the factor"),),
        BASE,
    ),
    Case(
        "helper module blank lines",
        REUSE,
        (edit("helpers.py", "FACTOR = 3\n", "\n\nFACTOR = 3\n\n"),),
        BASE,
    ),
    Case("unrelated helper", REUSE, (edit("helpers.py", "return 42", "return 43"),), BASE),
    Case("helper's constant", RERUN, (edit("helpers.py", "FACTOR = 3", "FACTOR = 4"),), BASE),
    # --- imports ------------------------------------------------------------------------
    Case("import m: m.f", RERUN, (edit("tools.py", "return x + 1", "return x + 11"),), MODULES),
    Case("import m as x", RERUN, (edit("tools.py", "return x + 2", "return x + 12"),), MODULES),
    Case("from m import f", RERUN, (edit("tools.py", "return x + 3", "return x + 13"),), MODULES),
    Case("star import", RERUN, (edit("stars.py", "x * 2", "x * 3"),), MODULES),
    Case("module.CONST", RERUN, (edit("tools.py", "CONST = 10", "CONST = 11"),), MODULES),
    Case(
        "import order",
        REUSE,
        (
            edit(
                "pipe.py", "import tools\nimport tools as t\n", "import tools as t\nimport tools\n"
            ),
        ),
        MODULES,
    ),
    Case(
        "relative import",
        RERUN,
        (edit("pkg/util.py", "x + 1", "x + 2"),),
        PACKAGE,
        "pkg.steps:task",
    ),
    Case(
        "package.sub.module chain",
        RERUN,
        (edit("pkg/sub/deep.py", "min(x, LIMIT)", "max(x, LIMIT)"),),
        PACKAGE,
        "pkg.steps:task",
    ),
    Case(
        "constant in sub module",
        RERUN,
        (edit("pkg/sub/deep.py", "LIMIT = 5", "LIMIT = 6"),),
        PACKAGE,
        "pkg.steps:task",
    ),
    # --- constants ----------------------------------------------------------------------
    Case("derived constant", RERUN, (edit("pipe.py", "A = 2", "A = 3"),), CONSTANTS),
    Case("dict constant", RERUN, (edit("pipe.py", '"a": 1', '"a": 5'),), CONSTANTS),
    Case("list constant", RERUN, (edit("pipe.py", "[1, 2, 3]", "[1, 2, 4]"),), CONSTANTS),
    Case(
        "set constant", RERUN, (edit("pipe.py", '{"x", "y", "z"}', '{"x", "y", "w"}'),), CONSTANTS
    ),
    Case(
        "set constant reordered",
        REUSE,
        (edit("pipe.py", '{"x", "y", "z"}', '{"z", "x", "y"}'),),
        CONSTANTS,
    ),
    Case("tuple constant", RERUN, (edit("pipe.py", "(1, 2)", "(1, 3)"),), CONSTANTS),
    Case("string constant", RERUN, (edit("pipe.py", '"fare"', '"fares"'),), CONSTANTS),
    Case("enum member", RERUN, (edit("pipe.py", "RED = 1", "RED = 3"),), CONSTANTS),
    Case(
        "other module's constant",
        RERUN,
        (edit("settings.py", "THRESHOLD = 7", "THRESHOLD = 8"),),
        CONSTANTS,
    ),
    # --- classes ------------------------------------------------------------------------
    Case(
        "method via instance",
        RERUN,
        (edit("pipe.py", "x * self.k +", "x * self.k * 1 +"),),
        CLASSES,
    ),
    Case(
        "method called by method",
        RERUN,
        (
            edit(
                "pipe.py",
                "def helper(self):\n        return 1",
                "def helper(self):\n        return 2",
            ),
        ),
        CLASSES,
    ),
    Case("__init__", RERUN, (edit("pipe.py", "self.k = k", "self.k = k + 1"),), CLASSES),
    Case("property", RERUN, (edit("pipe.py", "self.k * 2", "self.k * 3"),), CLASSES),
    Case(
        "staticmethod",
        RERUN,
        (edit("pipe.py", "def unit():\n        return 1", "def unit():\n        return 2"),),
        CLASSES,
    ),
    Case("classmethod", RERUN, (edit("pipe.py", "return cls(3)", "return cls(4)"),), CLASSES),
    Case(
        "class attribute", RERUN, (edit("pipe.py", 'kind = "linear"', 'kind = "linear2"'),), CLASSES
    ),
    Case("inherited method", RERUN, (edit("pipe.py", "x + 100", "x + 101"),), CLASSES),
    Case(
        "dataclass default",
        RERUN,
        (edit("pipe.py", "rate: float = 0.5", "rate: float = 0.25"),),
        CLASSES,
    ),
    Case(
        "unreachable method", REUSE, (edit("pipe.py", '"not called"', '"never called"'),), CLASSES
    ),
    Case(
        "method docstring",
        REUSE,
        (edit("pipe.py", "def apply(self, x):\n", 'def apply(self, x):\n        """Apply."""\n'),),
        CLASSES,
    ),
    # --- callables ----------------------------------------------------------------------
    Case("default argument value", RERUN, (edit("pipe.py", "k=4", "k=5"),), CALLABLES),
    Case(
        "function as default argument",
        RERUN,
        (edit("pipe.py", "return v * 10", "return v * 11"),),
        CALLABLES,
    ),
    Case("decorator body", RERUN, (edit("pipe.py", "fn(*args) + 1", "fn(*args) + 2"),), CALLABLES),
    Case(
        "decorated function", RERUN, (edit("pipe.py", "return x * 2", "return x * 4"),), CALLABLES
    ),
    Case(
        "partial arguments",
        RERUN,
        (edit("pipe.py", "partial(mul, 3)", "partial(mul, 4)"),),
        CALLABLES,
    ),
    Case(
        "partial's function",
        RERUN,
        (edit("pipe.py", "return a * b", "return a * b * 1"),),
        CALLABLES,
    ),
    Case(
        "module-level lambda",
        RERUN,
        (edit("pipe.py", "lambda v: v * v", "lambda v: v * v * v"),),
        CALLABLES,
    ),
    Case("global rebound", RERUN, (edit("pipe.py", "helper = fast", "helper = slow"),), CALLABLES),
    Case("lru_cache helper", RERUN, (edit("pipe.py", "return x + 5", "return x + 6"),), CALLABLES),
    Case(
        "closure at module level",
        RERUN,
        (edit("pipe.py", "make_adder(3)", "make_adder(4)"),),
        CALLABLES,
    ),
    Case(
        "closure factory body",
        RERUN,
        (edit("pipe.py", "return x + n", "return x + n + 0"),),
        CALLABLES,
    ),
    Case("callback by name", RERUN, (edit("pipe.py", "return v - 1", "return v - 2"),), CALLABLES),
    Case("getattr with literal", RERUN, (edit("pipe.py", "return 7", "return 8"),), CALLABLES),
    # --- library objects bound in another module --------------------------------------
    Case(
        "from m import ENGINE: the URL it was made from",
        RERUN,
        (edit("db.py", '"sqlite:///:memory:"', '"sqlite:///other.db"'),),
        BINDINGS,
        "pipe:by_name",
    ),
    Case(
        "from m import ENGINE: unrelated statement",
        REUSE,
        (edit("db.py", "UNRELATED = 1", "UNRELATED = 2"),),
        BINDINGS,
        "pipe:by_name",
    ),
    Case(
        "import m: m.ENGINE",
        RERUN,
        (edit("db.py", "create_engine(URL)", "create_engine(URL, echo=True)"),),
        BINDINGS,
        "pipe:by_module",
    ),
    Case(
        "re-imported as alias, re-exported by a package, relative import",
        RERUN,
        (edit("store/settings.py", "ECHO = False", "ECHO = True"),),
        BINDINGS,
        "pipe:chained",
    ),
    Case(
        "re-import chain: unrelated statement on the way",
        REUSE,
        (edit("conn.py", "TIMEOUT = 3", "TIMEOUT = 4"),),
        BINDINGS,
        "pipe:chained",
    ),
    Case(
        "star-re-exported frompyfunc ufunc: its function",
        RERUN,
        (edit("store/ufuncs.py", "return v * v", "return v * v * v"),),
        BINDINGS,
        "pipe:reexported",
    ),
    Case(
        "imported memo: its seed",
        RERUN,
        (edit("registry.py", '"seed": 1', '"seed": 2'),),
        BINDINGS,
        "pipe:memo",
    ),
    # --- bases and class keywords -------------------------------------------------------
    Case("bases swapped", RERUN, (edit("pipe.py", "Mixed(A, B)", "Mixed(B, A)"),), BASES),
    Case("class keyword", RERUN, (edit("pipe.py", "scale=2)", "scale=3)"),), BASES),
    Case(
        "class statement formatting",
        REUSE,
        (
            edit(
                "pipe.py",
                "class Double(Scaled, scale=2):",
                "class Double(\n    Scaled, scale=2,\n):",
            ),
        ),
        BASES,
    ),
    # --- annotations --------------------------------------------------------------------
    Case("parameter annotation", RERUN, (edit("convert.py", "x: int", "x: float"),), ANNOTATIONS),
    Case(
        "postponed return annotation", RERUN, (edit("hints.py", "-> float", "-> int"),), ANNOTATIONS
    ),
    Case(
        "class named only in a postponed annotation",
        RERUN,
        (edit("hints.py", "round(amount, 2)", "round(amount, 1)"),),
        ANNOTATIONS,
    ),
    Case(
        "validator named only in a postponed field annotation",
        RERUN,
        (edit("models.py", "return round(v, 2)", "return round(v, 3)"),),
        ANNOTATIONS,
    ),
    Case(
        "postponed annotation formatting",
        REUSE,
        (edit("models.py", "dict[str,int]", "dict[ str, int ]"),),
        ANNOTATIONS,
    ),
    Case(
        "method nothing calls, in a class named by an annotation",
        REUSE,
        (edit("hints.py", "{self.amount:.2f}", "{self.amount:.3f}"),),
        ANNOTATIONS,
    ),
    # --- names computed from a literal prefix ------------------------------------------
    *(
        Case(title, expect, (edit(file, old, new),), DISPATCH, f"pipe:{target}", ("csv",), warns)
        for title, expect, target, file, old, new, warns in [
            (
                "getattr(self, f'_handle_{kind}'): a dispatched method",
                RERUN,
                "by_method",
                "pipe.py",
                'path + ".csv"',
                'path + ".tsv"',
                "names starting '_handle_' are included",
            ),
            (
                "getattr(self, f'_handle_{kind}'): a method without the prefix",
                REUSE,
                "by_method",
                "pipe.py",
                'return "loader"',
                'return "reader"',
                "names starting '_handle_' are included",
            ),
            (
                "getattr(self, '_to_%s' % kind): a dispatched method",
                RERUN,
                "by_percent",
                "pipe.py",
                '",".join',
                '"|".join',
                "names starting '_to_' are included",
            ),
            (
                "getattr(self, '_fmt_{}'.format(kind)): a dispatched method",
                RERUN,
                "by_format",
                "pipe.py",
                '";".join',
                '"/".join',
                "names starting '_fmt_' are included",
            ),
            (
                "getattr(module, 'step_' + kind): a dispatched function",
                RERUN,
                "by_module",
                "handlers.py",
                "return sum(rows)",
                "return sum(rows) * 2",
                "names starting 'step_' are included",
            ),
            (
                "getattr(sys.modules[__name__], f'load_{kind}'): a dispatched function",
                RERUN,
                "by_own_module",
                "pipe.py",
                '"data/" + path',
                '"data2/" + path',
                "names starting 'load_' are included",
            ),
            (
                "getattr(sys.modules[__name__], f'load_{kind}'): a function without the prefix",
                REUSE,
                "by_own_module",
                "pipe.py",
                "path.upper()",
                "path.lower()",
                "names starting 'load_' are included",
            ),
            (
                "globals()[f'run_{kind}']: a dispatched function",
                RERUN,
                "by_globals",
                "pipe.py",
                "path.upper()",
                "path.lower()",
                "names starting 'run_' are included",
            ),
        ]
    ),
]

# --- what code is, not how it was written (needless reruns), and what still counts ------

FUTURE = _files(
    {
        "pipe.py": """
        import dataclasses


        @dataclasses.dataclass
        class Row:
            amount: int


        def task(x):
            return x * 2


        def field_type(x):
            return str(Row.__annotations__["amount"])
        """,
    }
)

LOCALS = _files(
    {
        "pipe.py": """
        import sys

        import pandas as pd

        FRAME = pd.DataFrame({"a": [1, 5, 10]})
        limit = 8


        def task(x, scale=1):
            total = x * scale
            return total + 1


        def with_locals(x):
            total = x * 2
            return sorted(sys._getframe(0).f_locals)


        def with_query(x):
            limit = x
            return int(FRAME.query("a > @limit")["a"].sum())
        """,
    }
)

LIBRARY_CLASSES = _files(
    {
        "pipe.py": """
        import enum
        import string
        from typing import NamedTuple


        class Point(NamedTuple):
            x: int
            y: int

            def norm(self):
                return abs(self.x) + abs(self.y)

            def unused(self):
                return "not called"


        class Color(enum.Enum):
            RED = 1
            BLUE = 2

            def label(self):
                return self.name.lower()

            def unused(self):
                return "not called"


        class Table(dict):
            def total(self):
                return sum(self.values())

            def unused(self):
                return "not called"


        class Shouting(string.Formatter):
            def format_field(self, value, format_spec):
                return str(value).upper()


        def task(x):
            return Point(x, 2).norm()


        def by_value(x):
            return Color(x).label()


        def lookup(x):
            return Table(a=x).total()


        def shout(x):
            return Shouting().format("{0}!", x)
        """,
    }
)

# --- what import time put into what code writes at run time (memos, registries, lazy attributes)
REGISTRY = _files(
    {
        "registry.py": """
        HANDLERS = {}
        DEFAULTS = {}
        DEFAULTS.update({"rate": 0.5})
        SCALES = []
        SCALES.extend([1, 2])


        def register(name):
            def deco(fn):
                HANDLERS[name] = fn
                return fn
            return deco


        def add(name, fn):
            _store(name, fn)


        def _store(name, fn):
            HANDLERS[name] = fn


        @register("inc")
        def inc(x):
            return x + 1
        """,
        "plugins.py": """
        import registry
        from registry import HANDLERS, add, register


        @register("double")
        def double(x):
            return x * 2


        @register("other")
        def other(x):
            return x + 100


        def halve(x):
            return x / 2


        def unrelated(x):
            return x - 7


        HANDLERS["half"] = halve
        add("neg", lambda x: -x)
        registry.DEFAULTS["offset"] = 3
        """,
        "pipe.py": """
        import registry
        import plugins  # noqa: F401  (registers its handlers)

        _MEMO = {}


        def handler(name):
            # a fallback written at run time: the registry is state
            return registry.HANDLERS.setdefault(name, lambda x: x)


        def rate():
            return registry.DEFAULTS.setdefault("rate", 1.0)


        def memo(x):
            if x not in _MEMO:
                _MEMO[x] = handler("double")(x) + handler("half")(x) + handler("neg")(x)
            return _MEMO[x]


        def task(x):
            registry.SCALES.append(x)
            return (memo(x) + handler("inc")(x) + rate() + registry.DEFAULTS["offset"]
                    + sum(registry.SCALES[:2]))
        """,
    }
)

BY_NAME = _files(
    {
        "pipe.py": """
        import tools


        def task(x):
            return getattr(tools, "a")(x) + hasattr(tools, "c")


        def passes_module(x):
            import tools

            return apply(tools, x)


        def local_after_import(x):
            import tools

            y = []
            y.append(tools.a(x))
            return y


        def apply(m, x):
            return m.b(x)
        """,
        "tools.py": """
        def a(x):
            return x + 1


        def b(x):
            return x + 2
        """,
    }
)

SUBCLASSES = _files(
    {
        "pipe.py": """
        KINDS = {}


        class Step:
            def __init_subclass__(cls, **kwargs):
                super().__init_subclass__(**kwargs)
                KINDS[cls.__name__.lower()] = cls


        class Scale(Step):
            def run(self, x):
                return x * 2


        def task(x):
            kind = KINDS.setdefault("scale", Step)
            return kind().run(x)
        """,
    }
)

LAZY = _files(
    {
        "pipe.py": """
        class Converter:
            _table = None
            base = 10

            @classmethod
            def table(cls):
                if cls._table is None:
                    cls._table = {i: i * cls.base for i in range(5)}
                return cls._table


        class Client:
            factor = 3

            def get(self, x):
                return x * self.factor


        _client = None


        def client():
            global _client
            if _client is None:
                _client = Client()
            return _client


        def task(x):
            return Converter.table()[x] + client().get(x)
        """,
    }
)

CASES += [
    Case(
        "from __future__ import annotations",
        REUSE,
        (
            edit(
                "pipe.py",
                "import dataclasses\n",
                "from __future__ import annotations\n\nimport dataclasses\n",
            ),
        ),
        FUTURE,
    ),
    Case(
        "from __future__ import annotations read by a dataclass",
        RERUN,
        (
            edit(
                "pipe.py",
                "import dataclasses\n",
                "from __future__ import annotations\n\nimport dataclasses\n",
            ),
        ),
        FUTURE,
        "pipe:field_type",
    ),
    Case(
        "local renamed",
        REUSE,
        (
            edit(
                "pipe.py",
                "total = x * scale\n    return total + 1",
                "amount = x * scale\n    return amount + 1",
            ),
        ),
        LOCALS,
    ),
    Case(
        "argument renamed",
        RERUN,
        (edit("pipe.py", "x, scale=1", "x, factor=1"), edit("pipe.py", "x * scale", "x * factor")),
        LOCALS,
    ),
    Case(
        "local renamed under locals()",
        RERUN,
        (edit("pipe.py", "total = x * 2\n    return sorted", "amount = x * 2\n    return sorted"),),
        LOCALS,
        "pipe:with_locals",
    ),
    Case(
        "local renamed that a query string names",
        RERUN,
        (edit("pipe.py", "    limit = x\n", "    cap = x\n"),),
        LOCALS,
        "pipe:with_query",
        (9,),
    ),
    Case(
        "unreachable method of a NamedTuple",
        REUSE,
        (
            edit(
                "pipe.py",
                'return "not called"\n\n\nclass Color',
                'return "never called"\n\n\nclass Color',
            ),
        ),
        LIBRARY_CLASSES,
    ),
    Case(
        "reachable method of a NamedTuple",
        RERUN,
        (edit("pipe.py", "abs(self.y)", "abs(self.y) * 2"),),
        LIBRARY_CLASSES,
    ),
    Case(
        "unreachable method of an Enum",
        REUSE,
        (
            edit(
                "pipe.py",
                'return "not called"\n\n\nclass Table',
                'return "never called"\n\n\nclass Table',
            ),
        ),
        LIBRARY_CLASSES,
        "pipe:by_value",
    ),
    Case(
        "Enum member no code names",
        RERUN,
        (edit("pipe.py", "BLUE = 2", "BLUE = 3"),),
        LIBRARY_CLASSES,
        "pipe:by_value",
    ),
    Case(
        "unreachable method of a dict subclass",
        REUSE,
        (
            edit(
                "pipe.py",
                'return "not called"\n\n\nclass Shouting',
                'return "never called"\n\n\nclass Shouting',
            ),
        ),
        LIBRARY_CLASSES,
        "pipe:lookup",
    ),
    Case(
        "library method overridden, called by the library",
        RERUN,
        (edit("pipe.py", "str(value).upper()", "str(value).lower()"),),
        LIBRARY_CLASSES,
        "pipe:shout",
    ),
    Case(
        "getattr(module, literal): another member",
        REUSE,
        (edit("tools.py", "x + 2", "x + 3"),),
        BY_NAME,
    ),
    Case(
        "getattr(module, literal): that member",
        RERUN,
        (edit("tools.py", "x + 1", "x + 4"),),
        BY_NAME,
    ),
    Case(
        "module imported in the body, passed whole",
        RERUN,
        (edit("tools.py", "x + 2", "x + 3"),),
        BY_NAME,
        "pipe:passes_module",
    ),
    Case(
        "local used after an import in the body",
        REUSE,
        (edit("tools.py", "x + 2", "x + 3"),),
        BY_NAME,
        "pipe:local_after_import",
    ),
    # --- files and environment variables the code reads ----------------------------------
    Case("file via __file__ changed", RERUN, (edit("data/rates_2024.csv", "0.5", "0.6"),), READS),
    Case("os.path.join file changed", RERUN, (edit("data/local.txt", "local", "remote"),), READS),
    Case("module constant path changed", RERUN, (edit("config/app.json", "2", "3"),), READS),
    Case("yaml file changed", RERUN, (edit("config/options.yaml", "fast", "slow"),), READS),
    Case("cwd-relative file changed", RERUN, (edit("notes/readme.md", "notes", "more"),), READS),
    Case("environ[] changed", RERUN, (edit(ENVIRONMENT, '"daily"', '"hourly"'),), READS),
    Case(
        "getenv set",
        RERUN,
        (edit(ENVIRONMENT, '"DEBUG_LEVEL": null', '"DEBUG_LEVEL": "2"'),),
        READS,
    ),
    Case("environ.get set", RERUN, (edit(ENVIRONMENT, '"REGION": null', '"REGION": "us"'),), READS),
    Case("unrelated env var", REUSE, (edit(ENVIRONMENT, '"OTHER": "1"', '"OTHER": "2"'),), READS),
    Case("file rewritten, same content", REUSE, (edit("config/app.json", "2", "2"),), READS),
    Case("output file changed", REUSE, (edit("out.txt", "old", "new"),), READS),
    Case("pandas read_csv file changed", RERUN, (edit("rates.csv", "0.5", "0.7"),), PANDAS_READ),
    Case(
        "Path argument's file changed",
        RERUN,
        (edit("data.csv", "1", "2"),),
        PATH_ARGUMENTS,
        args=({"path": "data.csv"},),
    ),
    Case(
        "file added to Path argument's directory",
        RERUN,
        (edit("folder/b.csv", "", "b\n2\n"),),
        PATH_ARGUMENTS,
        args=({"path": "folder"},),
    ),
    Case(
        "Path argument appears",
        RERUN,
        (edit("later.csv", "", "a\n"),),
        PATH_ARGUMENTS,
        args=({"path": "later.csv"},),
    ),
    Case(
        "str argument stays text",
        REUSE,
        (edit("data.csv", "1", "2"),),
        PATH_ARGUMENTS,
        args=("data.csv",),
    ),
    Case(
        "depends_on glob: file added",
        RERUN,
        (edit("inbox/second.csv", "", "a\n"),),
        PATH_ARGUMENTS,
        "pipe:declared",
    ),
    Case(
        "depends_on Env changed",
        RERUN,
        (edit(ENVIRONMENT, '"read"', '"write"'),),
        PATH_ARGUMENTS,
        "pipe:declared",
    ),
]

CASES += [
    Case(
        "registered in another module by decorator",
        RERUN,
        (edit("plugins.py", "return x * 2", "return x * 3"),),
        REGISTRY,
    ),
    Case(
        "registered in the registry's module by decorator",
        RERUN,
        (edit("registry.py", "return x + 1", "return x + 2"),),
        REGISTRY,
    ),
    Case(
        "registered by a module-level X[k] = v",
        RERUN,
        (edit("plugins.py", "return x / 2", "return x / 4"),),
        REGISTRY,
    ),
    Case(
        "registered through a helper that writes the registry",
        RERUN,
        (edit("plugins.py", "lambda x: -x", "lambda x: -x * 2"),),
        REGISTRY,
    ),
    Case(
        "key of a registration",
        RERUN,
        (edit("plugins.py", '@register("double")', '@register("twice")'),),
        REGISTRY,
    ),
    # Unavoidable: which entry a task uses is known only at run time (the key may be computed).
    Case(
        "another registered function",
        RERUN,
        (edit("plugins.py", "return x + 100", "return x + 101"),),
        REGISTRY,
    ),
    Case(
        "seeded by .update() at module level",
        RERUN,
        (edit("registry.py", '{"rate": 0.5}', '{"rate": 0.25}'),),
        REGISTRY,
    ),
    Case(
        "seeded by .extend() at module level",
        RERUN,
        (edit("registry.py", "[1, 2]", "[1, 3]"),),
        REGISTRY,
    ),
    Case(
        "seeded from another module",
        RERUN,
        (edit("plugins.py", '["offset"] = 3', '["offset"] = 4'),),
        REGISTRY,
    ),
    Case(
        "comment in a registered function",
        REUSE,
        (edit("plugins.py", "return x * 2", "return x * 2  # twice"),),
        REGISTRY,
    ),
    Case(
        "unregistered function beside registered ones",
        REUSE,
        (edit("plugins.py", "return x - 7", "return x - 8"),),
        REGISTRY,
    ),
    Case(
        "registered by __init_subclass__",
        RERUN,
        (edit("pipe.py", "return x * 2", "return x * 5"),),
        SUBCLASSES,
    ),
    Case(
        "class attribute read by a lazily filled one",
        RERUN,
        (edit("pipe.py", "base = 10", "base = 11"),),
        LAZY,
    ),
    Case(
        "class statement of a lazily assigned attribute",
        RERUN,
        (edit("pipe.py", "_table = None", "_table = {0: 1, 1: 1, 2: 2, 3: 3, 4: 4}"),),
        LAZY,
    ),
    Case(
        "class of a lazily assigned global",
        RERUN,
        (edit("pipe.py", "factor = 3", "factor = 4"),),
        LAZY,
    ),
    Case(
        "statement of a lazily assigned global",
        RERUN,
        (edit("pipe.py", "_client = None", "_client = Client()"),),
        LAZY,
    ),
]

MEMO = _files(
    {
        "pipe.py": """
        _LENGTHS = {"": 0}


        def load(name):
            return _LENGTHS.setdefault(name, len(name) * 2)


        def lookup(name):
            return _LENGTHS.get(name, -1)  # only reads what load() fills


        def task(x):
            return load("abc") + lookup("abc") + x
        """,
    }
)

CASES += [
    Case("memo's seed", RERUN, (edit("pipe.py", '{"": 0}', '{"": 1}'),), MEMO),
    Case("memo filler", RERUN, (edit("pipe.py", "len(name) * 2", "len(name) * 3"),), MEMO),
    Case("memo seed reformatted", REUSE, (edit("pipe.py", '{"": 0}', '{\n    "": 0,\n}'),), MEMO),
]

# --- what setters put there (a function writes, never reads): it may run at any time, from a
# script or another module, so the value counts, whatever import time put there
SETTERS = _files(
    {
        "cfg.py": """
        SETTINGS = {"rate": 1}
        _scale = 1


        def configure(rate):
            SETTINGS["rate"] = rate


        def set_scale(s):
            global _scale
            _scale = s


        class Model:
            shift = 0

            @classmethod
            def tune(cls, shift):
                cls.shift = shift

            def apply(self, x):
                return x * self.bias + self.shift


        Model.bias = 2


        def compute(x):
            return Model().apply(x) * SETTINGS["rate"] * _scale
        """,
        "setup_helpers.py": """
        import cfg


        def setup(shift):
            cfg.Model.tune(shift)
        """,
        "pipe.py": """
        import os

        import cfg
        from setup_helpers import setup


        def main():
            cfg.configure(int(os.environ.get("RATE", "1")))


        main()
        cfg.set_scale(2)
        setup(1)


        def task(x):
            return cfg.compute(x)
        """,
        ENVIRONMENT: '{"RATE": "2"}',
    }
)

ALIASES = _files(
    {
        "consts.py": "RATE = 2\n",
        "data.txt": "2",
        "closure.txt": "1",
        "pipe.py": """
        from os import getenv as _env
        from pathlib import Path

        import consts

        DATA = Path(__file__).parent / "data.txt"
        path = "other.txt"
        _read = Path.read_text


        def make(path):
            def load(x):
                return x * int(open(path).read())

            return load


        from_closure = make("closure.txt")


        def task(x):
            rate = consts.__dict__["RATE"] * int(_env("FACTOR", "1"))
            return from_closure(x) + int(_read(DATA)) * rate
        """,
        ENVIRONMENT: '{"FACTOR": "2"}',
    }
)

CASES += [
    Case(
        "setter called by a function at import", RERUN, (edit(ENVIRONMENT, '"2"', '"3"'),), SETTERS
    ),
    Case("global setter called at import", RERUN, (edit("pipe.py", "(2)", "(3)"),), SETTERS),
    Case("attribute setter through a helper", RERUN, (edit("pipe.py", "(1)", "(4)"),), SETTERS),
    Case(
        "class attribute set after the class body",
        RERUN,
        (edit("cfg.py", "Model.bias = 2", "Model.bias = 3"),),
        SETTERS,
    ),
    Case("env read through an alias", RERUN, (edit(ENVIRONMENT, '"2"', '"3"'),), ALIASES),
    Case("file read through an alias", RERUN, (edit("data.txt", "2", "3"),), ALIASES),
    Case("file named by a closure's cell", RERUN, (edit("closure.txt", "1", "4"),), ALIASES),
    Case("module constant read through __dict__", RERUN, (edit("consts.py", "2", "5"),), ALIASES),
]

# Projects whose code writes containers, globals or class attributes at run time: a call must
# not change their signature (tests/staleness/test_run_time_writes.py).
COLLECTOR = _files(
    {
        "pipe.py": """
        CALLS = []
        SETTINGS = {"rate": 2}


        def configure(rate):
            SETTINGS["rate"] = rate


        def task(x):
            CALLS.append(x)  # only written: what it holds changes nothing the code does
            return x * SETTINGS["rate"]
        """,
    }
)

RUN_TIME_WRITES = {
    "registry": REGISTRY,
    "subclasses": SUBCLASSES,
    "lazy": LAZY,
    "memo": MEMO,
    "collector": COLLECTOR,
}
