def h1(df):
    return 1


def h2(df):
    return 2


DISPATCH = {frozenset({"a", "b", "c"}): h1, frozenset({"x", "y", "z"}): h2}


def task(x):
    return DISPATCH[frozenset({"a", "b", "c"})](x)
