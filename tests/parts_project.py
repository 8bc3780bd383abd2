"""Step bodies the Airflow and Dagster multi-output tests share: ``split`` returns two
DataFrames (a dict; ``AS_TUPLE`` edits it into a tuple), ``total_even`` and ``total_odd`` each
consume one. Each body logs its call (``minipipe.counter``, in both hosts' test projects)."""

STEPS = """
import pandas as pd
from minipipe.counter import record

def split(n: int = 5):
    record("split")
    frame = pd.DataFrame({"x": range(n)})
    even, odd = frame[frame.x % 2 == 0], frame[frame.x % 2 == 1]
    return {"even": even, "odd": odd}

def total_even(even):
    record("total_even")
    return int(even.x.sum())

def total_odd(odd):
    record("total_odd")
    return int(odd.x.sum())
"""
AS_TUPLE = ('return {"even": even, "odd": odd}', "return even, odd")
CONSUMERS = ["total_even", "total_odd"]
