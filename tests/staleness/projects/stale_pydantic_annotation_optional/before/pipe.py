
import pydantic


class Rec(pydantic.BaseModel):
    v: int | None = None


def task(x):
    return Rec(v=x).v
