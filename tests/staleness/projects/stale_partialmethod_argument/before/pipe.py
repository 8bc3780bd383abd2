import functools


class Cell:
    def set_state(self, state):
        return "alive" if state else "dead"

    set_alive = functools.partialmethod(set_state, True)


def task(x):
    return Cell().set_alive()
