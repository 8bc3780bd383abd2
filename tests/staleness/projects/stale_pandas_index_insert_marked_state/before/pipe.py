import pandas as pd

COLUMNS = pd.Index(["a", "b"])


def task(x):
    return list(COLUMNS.insert(0, "id"))
