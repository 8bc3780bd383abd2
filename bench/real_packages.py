"""Sign installed open-source packages as user code: crashes, drift and side effects.

The wide version of ``tests/realcode/test_real_packages.py`` (same harness): every public function
and public method of each package, copied into two checkouts and signed in two fresh processes
(random hash seeds, different signing orders). Prints one line per package; exits non-zero if any
package crashed, drifted or was changed by signing.

    .venv/bin/python bench/real_packages.py [PACKAGE ...]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.realcode.harness import checkout, differences, finish, start

PACKAGES = [
    *("click", "jinja2", "sqlparse", "dateutil", "markdown_it", "packaging", "pluggy"),
    *("pygments", "rich", "typer", "attr", "tomlkit", "croniter", "itsdangerous", "werkzeug"),
]


def main(packages: list[str]) -> int:
    failed = 0
    print(f"{'package':<13}{'targets':>8}{'errors':>8}{'drift':>7}{'changed':>9}{'warned':>8}  s")
    for package in packages:
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            processes = [
                start(checkout(package, Path(tmp) / name), package)
                for name in ("checkout", "elsewhere")
            ]
            runs = [finish(process, timeout=3600) for process in processes]
            seconds = time.perf_counter() - started
        first, second = runs
        errors = {**first.errors, **second.errors}
        changed = sorted(set(first.side_effects) | set(second.side_effects))
        drift = differences(first, second)
        foreign = first.foreign or second.foreign
        bad = bool(errors or changed or drift or foreign)
        failed += bad
        print(
            f"{package:<13}{len(first.signatures) + len(first.errors):>8}{len(errors):>8}"
            f"{len(drift):>7}{len(changed):>9}{len(first.warnings):>8}  {seconds:.0f}"
            + ("  IMPORTED THE INSTALLED COPY" if foreign else "")
        )
        for key in list(errors)[:3]:
            print(f"    error {key}: {errors[key].splitlines()[0][:200]}")
        for key in drift[:3]:
            print(f"    drift {key}")
        for key in changed[:3]:
            print(f"    changed {key}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or PACKAGES))
