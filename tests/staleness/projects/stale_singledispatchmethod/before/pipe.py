import functools


class Fmt:
    @functools.singledispatchmethod
    def fmt(self, v):
        return str(v)

    @fmt.register
    def _(self, v: int):
        return v * 10


def task(x):
    return Fmt().fmt(x)
