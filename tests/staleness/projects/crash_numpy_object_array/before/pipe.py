import numpy as np

OBJ = np.array([1, "a"], dtype=object)


def task(x):
    return len(OBJ) + x
