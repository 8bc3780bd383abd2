import skipwise


@skipwise.cached(version=1)
def load(x):
    return x * 10


@skipwise.cached(depends_on=[skipwise.File("data.txt")])
def load_file(x):
    with open("data.txt") as f:
        return int(f.read()) + x


def task(x):
    return load.fn(x) + load_file.fn(x)


def task_calls(x):
    return load(x) + load_file(x)
