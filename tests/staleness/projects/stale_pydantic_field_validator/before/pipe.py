import pydantic


class Rec(pydantic.BaseModel):
    v: float

    @pydantic.field_validator("v")
    @classmethod
    def clip(cls, v):
        return min(v, 10.0)


def task(x):
    return Rec(v=x).v
