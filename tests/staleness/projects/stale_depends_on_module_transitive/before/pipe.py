import importlib

import tools

import skipwise


@skipwise.cached(depends_on=[tools])
def task(x):
    return importlib.import_module("tools").a(x)
