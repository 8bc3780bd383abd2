import pandas as pd

SIZES = pd.DataFrame(
    {"size": pd.Categorical(["S", "M", "L"], categories=["S", "M", "L"], ordered=True)}
)


def task(x):
    return SIZES.sort_values("size")["size"].tolist()
