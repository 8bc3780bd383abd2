class Row:
    def __init__(self, n):
        self.n = n

    @property
    def amount(self):
        return self.n * 2


TEMPLATE = "{r.amount}"


def task(x):
    return TEMPLATE.format(r=Row(x))
