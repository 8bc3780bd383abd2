import functools

import registry


class Base:
    def prepare(self, x):
        return x + 1

    def run(self, x):
        return self.step(self.prepare(x))

    @classmethod
    def create(cls):
        return cls()


class Mid(Base):
    def step(self, x):
        return x * 2


class Leaf(Mid):
    def step(self, x):
        return super().step(x) + 100

    @classmethod
    def create(cls):
        inst = super().create()
        inst.tag = "leaf"
        return inst


def make_model():
    return Leaf.create()


class Scorer:
    def __init__(self, w):
        self.w = w

    def __call__(self, v):
        return v * self.w


SCORER = Scorer(3)


class Positive:
    def __set_name__(self, owner, name):
        self.name = "_" + name

    def __get__(self, obj, objtype=None):
        return getattr(obj, self.name)

    def __set__(self, obj, value):
        setattr(obj, self.name, abs(value))


class Holder:
    v = Positive()

    def __init__(self, v):
        self.v = v

    @functools.cached_property
    def doubled(self):
        return self.v * 2

    @staticmethod
    def unit():
        return 1


def task(x):
    m = make_model()
    h = Holder(-x)
    return m.run(x) + sum(map(SCORER, [x])) + h.doubled + h.unit() + registry.build("csv").read(x)


class Unrelated:
    def nope(self):
        return 0
