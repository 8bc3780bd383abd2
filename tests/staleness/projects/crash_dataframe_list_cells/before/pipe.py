import pandas as pd

NESTED = pd.DataFrame({"a": [[1, 2], [3]]})


def task(x):
    return int(NESTED.a.str.len().sum()) + x
