import re

PAT = re.compile("a+")


def task(s):
    return PAT.findall(s)


def task_plain(s):
    return s
