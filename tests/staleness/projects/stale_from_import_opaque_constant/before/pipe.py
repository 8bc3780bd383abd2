from patterns import DATE_RE


def task(s):
    return DATE_RE.findall(s)
