import functools


@functools.singledispatch
def fmt(v):
    return str(v)


@fmt.register
def _(v: int):
    return v * 10


@fmt.register(float)
def _fmt_float(v):
    return round(v, 1)


def task(x):
    return fmt(x)
