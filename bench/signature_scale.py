"""(b) Signing a generated codebase: 20,000 functions in 400 modules by default.

Five layers of modules; each module uses two modules of the layer below. Cold: one signing
pass signs every function, in a process that has never signed anything. Baseline: plain
``ast.parse`` of the same files. Warm: a second pass signs everything again. Targets: cold <=
2.0x parse; warm <= 5% of cold; memory kept by the cold pass <= 3 KB per function (resident
set growth over the pass, divided by the functions signed).

Each measurement runs in its own fresh process, prepared the same way (skipwise and the
generated modules imported), because both sides allocate many objects and their speed depends
on what the process already holds: parsing first in a bare process, then signing in the same
process after the imports, made the baseline about 1.5x faster than parsing under the
conditions signing runs in. Rounds alternate between the two; medians (and the range) of wall
and CPU time are reported. ``--functions N --modules M`` sizes the codebase.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import report

LAYERS = 5  # modules call into two modules of the layer below, like a layered codebase


def generate(root: Path, modules: int, per_module: int, entry: bool = False) -> list[Path]:
    """``modules`` files of ``per_module`` functions (and a class of two methods) in the package
    ``generated`` under ``root``; with ``entry``, each module also gets ``everything(x)``,
    which calls all of its functions."""
    rng = random.Random(42)
    package = root / "generated"
    package.mkdir()
    (package / "__init__.py").write_text("")
    per_layer = max(1, modules // LAYERS)
    paths = []
    for m in range(modules):
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
        for f in range(per_module):
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
        if entry:
            calls = " + ".join(f"fn{f}(x)" for f in range(per_module))
            lines += ["def everything(x):", f"    return {calls}", ""]
        path = package / f"mod{m}.py"
        path.write_text("\n".join(lines))
        paths.append(path)
    return paths


def _prepared(root: Path) -> list[object]:
    """Import skipwise and the generated modules: the state both measurements start from."""
    from skipwise.engine import code_graph  # noqa: F401

    sys.path.insert(0, str(root))
    paths = sorted((root / "generated").glob("mod*.py"), key=lambda p: int(p.stem[3:]))
    modules = [importlib.import_module(f"generated.{path.stem}") for path in paths]
    return [
        value
        for module in modules
        for name, value in vars(module).items()
        if name.startswith("fn") and callable(value)
    ]


def resident() -> int:
    """Bytes of this process's resident set now."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure(what: str, root: Path) -> None:
    """In a fresh process: print wall and CPU seconds ``what`` took (for signing: cold, then
    warm, then the bytes the cold pass kept per function)."""
    functions = _prepared(root)
    if what == "parse":
        wall, cpu = time.perf_counter(), time.process_time()
        for path in sorted((root / "generated").glob("mod*.py")):
            ast.parse(path.read_text(), str(path))
        print(time.perf_counter() - wall, time.process_time() - cpu)
        return
    from skipwise.engine import code_graph, signing_pass

    before = resident()
    wall, cpu = time.perf_counter(), time.process_time()
    with signing_pass():
        digests = [code_graph(fn).digest for fn in functions]
    cold = (time.perf_counter() - wall, time.process_time() - cpu)
    kept = (resident() - before) / len(functions)
    wall, cpu = time.perf_counter(), time.process_time()
    with signing_pass():
        again = [code_graph(fn).digest for fn in functions]
    warm = (time.perf_counter() - wall, time.process_time() - cpu)
    assert digests == again and len(set(digests)) == len(functions)
    print(*cold, *warm, kept)


def _run(what: str, root: Path) -> list[float]:
    command = [sys.executable, __file__, "--measure", what, str(root)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return [float(x) for x in output.split()]


def spread(values: list[float], scale: float = 1.0, unit: str = "s") -> str:
    return (
        f"median {statistics.median(values) * scale:.3f}{unit} "
        f"({min(values) * scale:.3f}-{max(values) * scale:.3f})"
    )


def ratios(ours: list[float], baseline: list[float]) -> str:
    each = [a / b for a, b in zip(ours, baseline, strict=True)]
    return f"per round {min(each):.2f}-{max(each):.2f}x"


def main(functions: int, modules: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate(root, modules, functions // modules)
        rows: list[list[float]] = []  # parse wall, cpu, cold wall, cpu, warm wall, cpu, bytes
        for _ in range(rounds):
            rows.append(_run("parse", root) + _run("sign", root))
    columns = list(zip(*rows, strict=True))
    parse_wall, parse_cpu, cold_wall, cold_cpu, warm_wall, warm_cpu, kept = map(list, columns)
    print(f"{functions} functions in {modules} modules, {rounds} rounds in fresh processes")
    print(f"ast.parse wall {spread(parse_wall)}, CPU {spread(parse_cpu)}")
    print(f"cold signing wall {spread(cold_wall)}, CPU {spread(cold_cpu)}")
    print(f"warm signing wall {spread(warm_wall)}, CPU {spread(warm_cpu)}")
    median = statistics.median
    report("cold signatures vs ast.parse, CPU", median(cold_cpu), median(parse_cpu), 2.0)
    print(f"  {ratios(cold_cpu, parse_cpu)}")
    report("cold signatures vs ast.parse, wall", median(cold_wall), median(parse_wall), 2.0)
    print(f"  {ratios(cold_wall, parse_wall)}")
    report("warm repeat vs cold, CPU", median(warm_cpu), median(cold_cpu), 0.05)
    print(
        f"memory kept by the cold pass: {spread(kept, 1 / 1024, ' KB')} per function "
        f"(target <= 3 KB): {'meets' if median(kept) <= 3072 else 'MISSES'} target"
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--measure"]:
        measure(sys.argv[2], Path(sys.argv[3]))
    else:
        parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
        parser.add_argument("--functions", type=int, default=20_000)
        parser.add_argument("--modules", type=int, default=400)
        parser.add_argument("--rounds", type=int, default=5)
        options = parser.parse_args()
        main(options.functions, options.modules, options.rounds)
