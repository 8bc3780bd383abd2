def task(x):
    from . import util

    return util.helper(x)
