import numpy as np


def task(x, fn=np.sqrt):
    return float(fn(x))
