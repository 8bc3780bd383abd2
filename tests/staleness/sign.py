"""Run in a fresh process: print the signature of TARGET called with ARGS (JSON; an object
``{"path": "x"}`` is the argument ``pathlib.Path("x")``)."""

import importlib
import json
import sys
import warnings
from pathlib import Path

project, target = sys.argv[1], sys.argv[2]
args = [Path(a["path"]) if isinstance(a, dict) else a for a in json.loads(sys.argv[3])]
sys.path.insert(0, project)
warnings.simplefilter("error")  # an analysis warning in these cases is a failure

import skipwise  # noqa: E402

module_name, _, attr = target.partition(":")
fn = getattr(importlib.import_module(module_name), attr)
first = skipwise.signature(fn, *args)
assert skipwise.signature(fn, *args) == first, "a warm signature must equal the cold one"
print(first)
