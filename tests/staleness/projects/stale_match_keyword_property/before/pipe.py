class Order:
    def __init__(self, n):
        self.n = n

    @property
    def total(self):
        return self.n * 2


def task(x):
    match Order(x):
        case Order(total=t):
            return t
