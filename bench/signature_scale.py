"""(b) Signing a generated codebase of 1,000 functions in 50 modules.

Five layers of ten modules; each module uses two modules of the layer below. Cold: one signing
pass signs every function, in a process that has never signed anything. Baseline: plain
``ast.parse`` of the same files. Warm: a second pass signs everything again. Targets: cold <=
2.0x parse; warm <= 5% of cold.

Each measurement runs in its own fresh process, prepared the same way (skipwise and the
generated modules imported), because both sides allocate many objects and their speed depends
on what the process already holds: parsing first in a bare process, then signing in the same
process after the imports, made the baseline about 1.5x faster than parsing under the
conditions signing runs in. Rounds alternate between the two; the medians are reported.
"""

from __future__ import annotations

import ast
import importlib
import random
import statistics
import subprocess
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


def _prepared(root: Path) -> list[object]:
    """Import skipwise and the generated modules: the state both measurements start from."""
    from skipwise.engine import code_graph  # noqa: F401

    sys.path.insert(0, str(root))
    modules = [importlib.import_module(f"generated.mod{m}") for m in range(MODULES)]
    return [getattr(mod, f"fn{f}") for mod in modules for f in range(FUNCTIONS_PER_MODULE)]


def measure(what: str, root: Path) -> None:
    """In a fresh process: print the seconds ``what`` took (for signing: cold, then warm)."""
    functions = _prepared(root)
    if what == "parse":
        started = time.perf_counter()
        for path in sorted((root / "generated").glob("mod*.py")):
            ast.parse(path.read_text(), str(path))
        print(time.perf_counter() - started)
        return
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
    print(cold, warm)


def _run(what: str, root: Path) -> list[float]:
    command = [sys.executable, __file__, "--measure", what, str(root)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return [float(x) for x in output.split()]


def main(rounds: int = 5) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate(root)
        parses, colds, warms = [], [], []
        for _ in range(rounds):
            parses += _run("parse", root)
            cold, warm = _run("sign", root)
            colds.append(cold)
            warms.append(warm)
    parse, cold, warm = (statistics.median(x) for x in (parses, colds, warms))
    print(f"{MODULES * FUNCTIONS_PER_MODULE} functions in {MODULES} modules, median of {rounds}")
    print(
        f"cold/parse per round: {', '.join(f'{c / p:.2f}x' for c, p in zip(colds, parses, strict=True))}"
    )
    report("cold signatures vs ast.parse of the files", cold, parse, 2.0)
    report("warm repeat vs cold", warm, cold, 0.05)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--measure"]:
        measure(sys.argv[2], Path(sys.argv[3]))
    else:
        main()
