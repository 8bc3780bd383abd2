def b(x):
    return x * 2
