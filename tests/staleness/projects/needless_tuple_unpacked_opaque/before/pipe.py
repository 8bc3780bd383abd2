import re
import types

A_RE, B_RE = re.compile("a+"), re.compile("b+")
CFG = types.SimpleNamespace(rate=0.5)


def task(s):
    return A_RE.findall(s)


def t_ns(x):
    return x * CFG.rate
