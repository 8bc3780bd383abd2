from other import b


def a(x):
    return b(x) + 1


def unrelated():
    return 1
