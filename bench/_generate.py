"""Generated code for the benchmarks: a chain of functions, and a pipeline of cached steps."""

from __future__ import annotations

import textwrap
from pathlib import Path


def chain_package(root: Path, name: str, functions: int, modules: int) -> str:
    """A package ``name`` of ``modules`` modules whose last function reaches all ``functions``
    (each names the one before it, across modules); returns ``module:function`` of that root."""
    package = root / name
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    per = max(1, functions // modules)
    for m in range(modules):
        lines = [f"from {name} import mod{m - 1} as prev" if m else "", f"LIMIT = {m}", ""]
        for f in range(per):
            callee = f"fn{f - 1}(x)" if f else (f"prev.fn{per - 1}(x)" if m else "x")
            # Every function is reached; a call with x >= 0 runs only the root.
            lines += [f"def fn{f}(x):", f"    return x + LIMIT if x >= 0 else {callee}", ""]
        (package / f"mod{m}.py").write_text("\n".join(lines))
    return f"{name}.mod{modules - 1}:fn{per - 1}"


def pipeline_package(root: Path, name: str, steps: int, helpers: int, modules: int) -> None:
    """A package ``name``: ``helpers`` helper functions in ``modules`` modules (short chains
    inside a module, calls into the module before), and ``steps`` cached steps in
    ``name.steps``, each transforming the previous step's DataFrame with a few helpers;
    ``name.steps.run(rows)`` runs them all and returns the last (small) result."""
    package = root / name
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    per = max(1, helpers // modules)
    for m in range(modules):
        lines = ["import math", ""]
        if m:
            lines.insert(0, f"from {name} import helpers{m - 1} as lower")
        lines += [f"WEIGHT = {m + 1}", ""]
        for h in range(per):
            if h % 5:
                callee = f"h{h - 1}(x)"
            elif m:
                callee = f"lower.h{(h + 3) % per}(x)"
            else:
                callee = "x"
            lines += [
                f"def h{h}(x):",
                f"    return math.sqrt(abs({callee})) * 0.5 + WEIGHT / {h + 1}",
                "",
            ]
        (package / f"helpers{m}.py").write_text("\n".join(lines))
    lines = [
        "import numpy as np",
        "import pandas as pd",
        "",
        "import skipwise",
        "",
        *(f"from {name} import helpers{m}" for m in range(modules)),
        "",
        "",
        "@skipwise.cached",
        "def source(rows):",
        "    rng = np.random.default_rng(0)",
        '    return pd.DataFrame({"k": np.arange(rows), "v": rng.random(rows),'
        ' "w": rng.random(rows)})',
        "",
    ]
    for s in range(steps):
        module, helper = s % modules, (s * 7) % per
        lines += [
            "",
            "@skipwise.cached",
            f"def step{s}(df):",
            f"    factor = helpers{module}.h{helper}(1.0)",
            f'    return df.assign(v=df["v"] * factor + {s}, w=df["w"] - factor)',
            "",
        ]
    lines += [
        "",
        "@skipwise.cached",
        "def summary(df):",
        '    return pd.DataFrame({"rows": [len(df)], "v": [df["v"].sum()], "w": [df["w"].sum()]})',
        "",
        "",
        "def run(rows):",
        "    df = source(rows)",
        *(f"    df = step{s}(df)" for s in range(steps)),
        "    return summary(df)",
        "",
    ]
    (package / "steps.py").write_text(textwrap.dedent("\n".join(lines)))
