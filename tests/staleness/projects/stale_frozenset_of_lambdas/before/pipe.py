CHECKS = frozenset({lambda v: v > 0, lambda v: v < 100})


def task(x):
    return all(c(x) for c in CHECKS)
