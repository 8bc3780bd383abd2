import numpy as np

RNG = np.random.default_rng(0)


def task(x):
    return RNG.integers(0, 10, x).tolist()
