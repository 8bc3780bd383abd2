from collections import defaultdict

WEIGHTS = defaultdict(lambda: 1.0)


def task(k):
    return WEIGHTS[k] * 10
