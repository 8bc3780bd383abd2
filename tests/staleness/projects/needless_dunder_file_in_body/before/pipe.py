import os
from pathlib import Path

DATA = Path(__file__).parent / "data"


def task(x):
    return x


def task_file(x):
    return len(os.path.dirname(__file__)) * 0 + x


def task_const(x):
    return (DATA / "lookup.csv").name, x
