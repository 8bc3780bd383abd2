import re


def make_parser(pattern):
    rx = re.compile(pattern)

    def parse(s):
        return rx.findall(s)

    return parse


parse_digits = make_parser(r"\d+")


def task(s):
    return parse_digits(s)
