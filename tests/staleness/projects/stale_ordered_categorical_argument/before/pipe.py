import pandas as pd


def make_input():
    return pd.DataFrame(
        {"size": pd.Categorical(["S", "M", "L"], categories=["S", "M", "L"], ordered=True)}
    )


def task(df):
    return df.sort_values("size")["size"].tolist()
