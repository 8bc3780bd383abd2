"""Annotations enter signatures without naming the process or the checkout: a module imported
under Airflow's path-hashed name signs as under its own name."""

from __future__ import annotations

from skipwise.engine import code_graph

SOURCE = """
from typing import Generic, TypeVar

T = TypeVar("T")


class Box(Generic[T]):
    def __init__(self, item: T) -> None:
        self.item = item


def task(box: Box[int], label: "Box[str] | None" = None) -> list[Box[int]]:
    return [box]
"""


def test_annotations_do_not_depend_on_the_module_name(make_module) -> None:
    plain = make_module("boxes", SOURCE)
    hashed = make_module("unusual_prefix_" + "0" * 40 + "_boxes", SOURCE)
    graph = code_graph(plain.task)
    assert graph.digest == code_graph(hashed.task).digest
    assert "boxes:Box" in graph.nodes  # the class named in the annotations is reachable


def test_an_annotation_changes_the_signature(make_module) -> None:
    before = code_graph(make_module("annotated", SOURCE).task).digest
    after = code_graph(make_module("annotated", SOURCE.replace("Box[int]", "Box[float]")).task)
    assert after.digest != before
