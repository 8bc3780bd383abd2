import pydantic


class Rec(pydantic.BaseModel):
    v: float

    def model_post_init(self, ctx):
        self.v = self.v * 2

    @pydantic.computed_field
    @property
    def doubled(self) -> float:
        return self.v * 2


def task(x):
    return Rec(v=x).model_dump()
