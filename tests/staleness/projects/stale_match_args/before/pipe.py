class P:
    __match_args__ = ("a", "b")

    def __init__(self, a, b):
        self.a, self.b = a, b


def task(x):
    match P(x, 10):
        case P(first, second):
            return first - second
