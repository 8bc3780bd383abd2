import types

NS = types.SimpleNamespace(rate=0.5)


def task(x):
    return x * NS.rate
