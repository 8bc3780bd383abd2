"""Mapped skipwise tasks (``.partial()``/``.expand()``) at parse time: their record.

A mapped task is no operator until Airflow unmaps it for one map index, so the record a
skipwise operator keeps in its template field (:mod:`skipwise.airflow.record`) is built when the
task is mapped and kept in its partial arguments, which travel in the serialized DAG: the plan
and the Signatures tab then know the task without importing user code.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import XComArg
from airflow.sdk.bases.decorator import _TaskDecorator
from airflow.sdk.definitions.mappedoperator import MappedOperator, OperatorPartial

from skipwise.airflow.record import FIELD, TaskRecord, result_name
from skipwise.host import Step, StepOptions


def mapped_step(task: MappedOperator) -> Step[Any]:
    """The step a mapped skipwise task runs for each map index, as far as its name, code
    graph and fresh inputs go (the options that change them: ``name``, ``version``,
    ``depends_on``, ``fresh``)."""
    kwargs = task.partial_kwargs
    options = StepOptions(
        name=result_name(task.dag_id, task.task_id, kwargs.get("name")),
        version=kwargs.get("version"),
        depends_on=tuple(kwargs.get("depends_on", ())),
        fresh=kwargs.get("fresh"),
    )
    callable_ = getattr(task, "python_callable", None) or kwargs["python_callable"]
    return Step(callable_, options)


def _keep_record(task: MappedOperator) -> None:
    """Record the task in its partial arguments, as a plain dict (what serializes)."""
    kwargs = task.partial_kwargs
    references = XComArg.iter_xcom_references([kwargs.get("op_args"), kwargs.get("op_kwargs")])
    inputs = {op.task_id for op, _ in references}
    inputs |= {op.task_id for op in task.iter_mapped_dependencies()}
    code = mapped_step(task).code()
    kwargs[FIELD] = TaskRecord(kwargs.get("name"), tuple(sorted(inputs)), code, True).serialize()


class SkipwiseTaskDecorator(_TaskDecorator):  # type: ignore[type-arg]
    """``@task.skipwise``'s decorator: ``.expand()``/``.expand_kwargs()`` keep the record."""

    def _expand(self, expand_input: Any, *, strict: bool) -> XComArg:
        output = super()._expand(expand_input, strict=strict)
        _keep_record(output.operator)  # type: ignore[attr-defined]
        return output


class SkipwisePartial(OperatorPartial):
    """``SkipwiseOperator.partial(...)``: its ``.expand()``/``.expand_kwargs()`` keep the
    record."""

    def _expand(self, expand_input: Any, *, strict: bool) -> MappedOperator:
        task = super()._expand(expand_input, strict=strict)
        _keep_record(task)
        return task
