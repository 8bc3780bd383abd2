import numpy as np

REC = np.array([(1.0, 2.0)], dtype=[("a", "f8"), ("b", "f8")])


def task(x):
    return float(REC["a"][0]) + x
