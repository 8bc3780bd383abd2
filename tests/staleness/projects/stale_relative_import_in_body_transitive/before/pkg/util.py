from pkg.other import b


def helper(x):
    return b(x)
