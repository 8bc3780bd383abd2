import pydantic


@pydantic.validate_call
def task(x: int) -> int:
    return x * 2
