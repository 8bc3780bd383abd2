import datetime
import json


class Encoder(json.JSONEncoder):
    def default(self, o):
        if isinstance(o, datetime.date):
            return o.isoformat()
        return super().default(o)


def task(x):
    return json.dumps({"d": datetime.date(2024, 1, x)}, cls=Encoder)
