RATES = {"eur": 1.1}


def setup():
    RATES.setdefault("usd", 1.0)


def compute(x):
    return x * RATES["eur"]


def task(x):
    setup()
    return compute(x)
