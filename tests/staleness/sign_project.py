"""Run in a fresh process: sign TARGET(*ARGS) of a project; with a mutation file, sign, run the
mutation in the same process, and sign again (the engine's cache must see the change).

ARGS is a Python expression evaluated in the target module (``"(Config(),)"``).
"""

import importlib
import json
import sys
import warnings
from pathlib import Path

project, target, args_expression = sys.argv[1:4]
mutation = sys.argv[4] if len(sys.argv) > 4 else None
sys.path.insert(0, project)
warnings.simplefilter("ignore")  # these cases are about signatures, not warnings

import skipwise  # noqa: E402

module_name, _, attr = target.partition(":")
module = importlib.import_module(module_name)


def sign() -> str:
    fn = getattr(module, attr)
    return skipwise.signature(fn, *eval(args_expression, vars(module)))


first = sign()
assert sign() == first, "a warm signature must equal the cold one"
result = {"signature": first}
if mutation:
    exec(Path(mutation).read_text(), {**vars(module), "m": module})
    result["after_mutation"] = sign()
print(json.dumps(result))
