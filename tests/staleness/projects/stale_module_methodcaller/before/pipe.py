import operator


class Order:
    def __init__(self, n):
        self.n = n

    @property
    def total(self):
        return self.n * 2

    def apply(self):
        return self.n + 1


TOTAL = operator.attrgetter("total")
APPLY = operator.methodcaller("apply")


def task(x):
    o = Order(x)
    return TOTAL(o) + APPLY(o)
