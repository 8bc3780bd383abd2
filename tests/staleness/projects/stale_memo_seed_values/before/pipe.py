_FIB = {0: 0, 1: 1}


def fib(n):
    if n not in _FIB:
        _FIB[n] = fib(n - 1) + fib(n - 2)
    return _FIB[n]


def task(x):
    return fib(x + 5)
