class Params:
    def __init__(self, rate):
        self.rate = rate

    def keys(self):
        return ["rate"]

    def __getitem__(self, k):
        return {"rate": self.rate}[k]


def compute(rate=0, scale=1):
    return rate * scale


def task(x):
    return compute(**Params(x))
