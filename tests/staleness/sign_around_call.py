"""Run in a fresh process: sign TARGET(*ARGS) around a call of it, printing the signatures as
JSON. ORDER is "sign,call,sign" or "call,sign" (a process that ran the code before signing)."""

import importlib
import json
import sys
import warnings

project, target, args, order = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
sys.path.insert(0, project)
warnings.simplefilter("error")

import skipwise  # noqa: E402

module_name, _, attr = target.partition(":")
fn = getattr(importlib.import_module(module_name), attr)
signatures = []
for step in order.split(","):
    if step == "call":
        fn(*args)
    else:
        signatures.append(skipwise.signature(fn, *args))
print(json.dumps(signatures))
