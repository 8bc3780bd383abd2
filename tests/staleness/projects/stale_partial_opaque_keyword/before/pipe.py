import functools
import re


def find(s, pattern):
    return pattern.findall(s)


find_digits = functools.partial(find, pattern=re.compile(r"\d+"))


def task(s):
    return find_digits(s)
