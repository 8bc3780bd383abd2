import logging


def task(x):
    logging.getLogger(__name__).debug("x=%s", x)
    return x + 1


def task_plain(x):
    return x + 1
