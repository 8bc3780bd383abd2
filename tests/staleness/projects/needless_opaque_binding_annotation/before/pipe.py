import re

PAT: re.Pattern = re.compile("a+")


def task(s):
    return PAT.findall(s)
