"""Real code, not toy cases: installed open-source packages signed as if they were user code.

Each package's source is copied into two temporary checkouts, one package per checkout, and every
public function and every public method of a public class (properties, static and class methods
included) is signed in two fresh processes: different checkout paths, random ``PYTHONHASHSEED``,
a different signing order, each target signed cold and then warm. Required: no exception (a
``SkipwiseWarning`` is fine), the same signature in both processes, and no change to the
package's state (names bound in its modules and classes, containers and instance dictionaries
reachable from them) by signing. The copy, not the installed original, must be what imports.

The packages, chosen for different styles:

- click: decorators that build objects, class-heavy, ``from __future__ import annotations``;
- jinja2: registries of filters and tests (dicts of functions), a compiler visitor dispatching by
  ``getattr(self, f"visit_{name}")``, lazily filled caches;
- sqlparse: functional filters, a keyword registry, token types that are ``tuple`` subclasses
  with a ``__getattr__`` that creates a child type for any name (probing them mutates them);
- dateutil: class hierarchies (``tzinfo``), module-level singletons, ``from __future__``-free;
- markdown_it: rule registries (``Ruler``), ``from __future__ import annotations``;
- packaging: dataclass-like value classes, ``Enum``/``NamedTuple`` types, regular expressions;
- pluggy: hook specifications by decorator markers, ``from __future__ import annotations``.

``bench/real_packages.py`` runs the same check over more and bigger packages (all of pygments,
rich, typer, attrs, tomlkit, croniter).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.realcode.harness import checkout, differences, finish, start

PACKAGES = ["click", "jinja2", "sqlparse", "dateutil", "markdown_it", "packaging", "pluggy"]


@pytest.mark.parametrize("package", PACKAGES)
def test_package_signs_alike_everywhere_without_side_effects(package: str, tmp_path: Path) -> None:
    processes = [
        start(checkout(package, tmp_path / "checkout"), package),
        start(checkout(package, tmp_path / "teammate" / "clone"), package),
    ]
    first, second = (finish(p) for p in processes)
    for run in (first, second):
        assert not run.foreign, f"the installed {package} was imported, not the copy"
        assert not run.errors, "\n".join(f"{k}: {v[:300]}" for k, v in run.errors.items())
        assert not run.side_effects, f"signing changed {package}'s state: {run.side_effects}"
    assert len(first.signatures) > 20, f"too few targets found in {package}"
    assert not differences(first, second), (
        "signatures differ between processes/checkouts: " + ", ".join(differences(first, second))
    )
