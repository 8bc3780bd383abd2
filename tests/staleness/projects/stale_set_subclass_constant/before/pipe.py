class Tags(set):
    pass


class Slotted:
    __slots__ = ("k",)

    def __init__(self, k):
        self.k = k


TAGS = Tags({"a", "b"})
S = Slotted(3)


def task(x):
    return len(TAGS) + x + S.k
