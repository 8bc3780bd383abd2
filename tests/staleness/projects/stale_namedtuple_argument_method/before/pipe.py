import dataclasses
import enum
from typing import NamedTuple


@dataclasses.dataclass
class Config:
    rate: float = 0.5

    def scaled(self, x):
        return x * self.rate


class Mode(enum.Enum):
    FAST = "fast"
    SLOW = "slow"

    def factor(self):
        return 2 if self is Mode.FAST else 3


class Point(NamedTuple):
    x: int
    y: int

    def norm1(self):
        return abs(self.x) + abs(self.y)


def task(cfg, mode, pt):
    return cfg.scaled(pt.norm1()) * mode.factor()
