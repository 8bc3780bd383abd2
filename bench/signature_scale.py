"""(b) Signing a generated codebase of 1,000 functions in 50 modules.

Five layers of ten modules; each module uses two modules of the layer below. Cold: after import,
one signing pass signs every function (each file read and parsed by skipwise for the first
time). Baseline: plain ``ast.parse`` of the same files in the same process. Warm: a second pass
signs everything again. Targets: cold <= 2.0x parse; warm <= 5% of cold.
"""

from __future__ import annotations

import ast
import importlib
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import report

MODULES, FUNCTIONS_PER_MODULE = 50, 20


LAYERS = 5  # modules call into two modules of the layer below, like a layered codebase


def generate(root: Path) -> list[Path]:
    rng = random.Random(42)
    package = root / "generated"
    package.mkdir()
    (package / "__init__.py").write_text("")
    per_layer = MODULES // LAYERS
    paths = []
    for m in range(MODULES):
        layer = m // per_layer
        lower = (
            sorted(rng.sample(range((layer - 1) * per_layer, layer * per_layer), 2))
            if layer
            else []
        )
        lines = [f'"""Generated module {m}."""', "import math", ""]
        lines += [f"from generated import mod{d} as dep{i}" for i, d in enumerate(lower)]
        lines += ["", f"LIMIT_{m} = {rng.randint(1, 100)}", f"NAMES_{m} = {['a', 'b', 'c']!r}", ""]
        lines += [
            f"class Model{m}:",
            "    scale = 2",
            "",
            "    def __init__(self, k):",
            "        self.k = k",
            "",
            "    def apply(self, x):",
            "        return x * self.k + self.scale",
            "",
        ]
        for f in range(FUNCTIONS_PER_MODULE):
            if f % 5:
                callee = f"fn{f - 1}(x)"  # short chains inside a module
            elif lower:
                callee = f"dep{f % 2}.fn{rng.randrange(5)}(x)"  # a utility from the layer below
            else:
                callee = "x"
            lines += [
                f"def fn{f}(x, k={f}):",
                f'    """Function {f} of module {m}."""',
                "    total = 0",
                "    for i in range(3):",
                f"        if i % 2 == 0 and x < LIMIT_{m}:",
                f"            total += {callee} + math.sqrt(abs(x)) * k",
                "        else:",
                f"            total -= len(NAMES_{m})",
                f"    return Model{m}(k).apply(total)",
                "",
            ]
        path = package / f"mod{m}.py"
        path.write_text("\n".join(lines))
        paths.append(path)
    return paths


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        paths = generate(Path(tmp))
        sys.path.insert(0, tmp)
        modules = [importlib.import_module(f"generated.mod{m}") for m in range(MODULES)]
        functions = [getattr(mod, f"fn{f}") for mod in modules for f in range(FUNCTIONS_PER_MODULE)]

        started = time.perf_counter()
        for path in paths:
            ast.parse(path.read_text(), str(path))
        parse = time.perf_counter() - started

        from skipwise.engine import code_graph, signing_pass

        started = time.perf_counter()
        with signing_pass():
            digests = [code_graph(fn).digest for fn in functions]
        cold = time.perf_counter() - started

        started = time.perf_counter()
        with signing_pass():
            again = [code_graph(fn).digest for fn in functions]
        warm = time.perf_counter() - started
        assert digests == again and len(set(digests)) == len(functions)
    print(f"{len(functions)} functions in {MODULES} modules")
    report("cold signatures vs ast.parse of the files", cold, parse, 2.0)
    report("warm repeat vs cold", warm, cold, 0.05)


if __name__ == "__main__":
    main()
