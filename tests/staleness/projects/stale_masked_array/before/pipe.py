import numpy as np

MASKED = np.ma.masked_array([1, 2, 3], mask=[0, 1, 0])


def task(x):
    return int(MASKED.sum()) + x
