def clean(x):
    return x + 1


def scale(x):
    return x * 2


def publish(x):
    return x


NEXT_STEP = {clean: scale, scale: publish}


def task(x):
    f = clean
    while f in NEXT_STEP:
        x = f(x)
        f = NEXT_STEP[f]
    return f(x)
