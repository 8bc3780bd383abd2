import os

import tools


def task(x):
    here = os.path.dirname(tools.__file__)
    return tools.helper(x) + len(os.path.basename(here)) * 0
