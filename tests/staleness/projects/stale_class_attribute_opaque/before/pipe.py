import re


class Parser:
    PATTERN = re.compile(r"\d+")

    def parse(self, s):
        return self.PATTERN.findall(s)


def task(s):
    return Parser().parse(s)
