from random import randrange


def pick(items):
    import random

    return random.choice(items)


def task(x):
    return x + randrange(1) + pick([0])
