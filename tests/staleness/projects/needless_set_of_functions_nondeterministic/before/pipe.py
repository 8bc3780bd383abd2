def check_a(x):
    return x > 0


def check_b(x):
    return x < 100


CHECKS = frozenset({check_a, check_b})
RULES = {("positive", check_a), ("bounded", check_b)}


def task(x):
    return all(c(x) for c in CHECKS) and all(f(x) for _, f in RULES)
