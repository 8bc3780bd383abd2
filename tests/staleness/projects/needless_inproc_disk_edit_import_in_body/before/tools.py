def a(x):
    return x + 1
