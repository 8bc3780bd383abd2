import re

split_fields = re.compile(r"[,;]").split
RATES = {"eur": 1.1, "usd": 1.0}
rate_of = RATES.get


def task(s):
    return [rate_of(p, 0) for p in split_fields(s)]
