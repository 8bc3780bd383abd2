import numpy as np

AGGS = {"log": np.log1p, "sqrt": np.sqrt}


def task(x):
    return float(AGGS["sqrt"](x))
