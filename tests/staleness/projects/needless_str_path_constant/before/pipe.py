import os

LOCALES = os.path.join(os.path.dirname(__file__), "locale")


def task(x):
    return os.path.basename(LOCALES), x
