import re

DATE_RE = re.compile(r"\d{4}-\d{2}")
