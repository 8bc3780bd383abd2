READERS = {}


def register(name):
    def deco(cls):
        READERS[name] = cls
        return cls

    return deco


@register("csv")
class CsvReader:
    def read(self, x):
        return x + 1000


def build(name):
    return READERS[name]()
