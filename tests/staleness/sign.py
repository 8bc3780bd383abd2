"""Run in a fresh process: print the signature of TARGET called with ARGS (JSON; an object
``{"path": "x"}`` is the argument ``pathlib.Path("x")``). Any warning is a failure, except one
matching WARNS (a regex, when given), which the first signature must give."""

import importlib
import json
import sys
import warnings
from pathlib import Path

project, target = sys.argv[1], sys.argv[2]
args = [Path(a["path"]) if isinstance(a, dict) else a for a in json.loads(sys.argv[3])]
expected = sys.argv[4] if len(sys.argv) > 4 else ""
sys.path.insert(0, project)
warnings.simplefilter("error")  # an analysis warning in these cases is a failure

import skipwise  # noqa: E402

module_name, _, attr = target.partition(":")
fn = getattr(importlib.import_module(module_name), attr)
with warnings.catch_warnings(record=True) as given:
    warnings.simplefilter("error")
    if expected:
        warnings.filterwarnings("always", ".*" + expected, skipwise.SkipwiseWarning)
    first = skipwise.signature(fn, *args)
assert not expected or given, f"no warning matching {expected!r}"
assert skipwise.signature(fn, *args) == first, "a warm signature must equal the cold one"
print(first)
