import pandas as pd

BASELINE = pd.Series([1.0, 2.0, 3.0])


def task(x):
    return BASELINE.add(x).sum()
