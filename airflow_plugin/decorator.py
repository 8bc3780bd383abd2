"""``@task.skipwise``: the TaskFlow form of :class:`SkipwiseOperator`."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from airflow.sdk.bases.decorator import DecoratedOperator, TaskDecorator

from skipwise.airflow.mapped import SkipwiseTaskDecorator
from skipwise.airflow.operator import SkipwiseOperator, refuse_element_arguments


class _SkipwiseDecoratedOperator(DecoratedOperator, SkipwiseOperator):
    template_fields = SkipwiseOperator.template_fields
    custom_operator_name = "@task.skipwise"

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        op_args: Collection[Any] | None = None,
        op_kwargs: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        # Before Airflow binds the arguments to the callable, which fails less clearly.
        refuse_element_arguments(
            kwargs.get("task_id"), {"op_args": op_args, "op_kwargs": op_kwargs}
        )
        super().__init__(
            kwargs_to_upstream={
                "python_callable": python_callable,
                "op_args": op_args,
                "op_kwargs": op_kwargs,
            },
            python_callable=python_callable,
            op_args=op_args,
            op_kwargs=op_kwargs,
            **kwargs,
        )


def skipwise_task(
    python_callable: Callable[..., Any] | None = None, **kwargs: Any
) -> TaskDecorator:
    """``@task.skipwise`` (or ``@task.skipwise(name=..., version=...)``): a task that runs
    only when its signature is new. Takes :class:`SkipwiseOperator`'s options and
    ``@task``'s. The task's XCom is a reference to the result; ``multiple_outputs=True``
    pushes one reference per key of a dict result. It is off unless given (a ``-> dict``
    annotation does not turn it on).
    """
    multiple_outputs = kwargs.pop("multiple_outputs", False)

    def decorate(fn: Callable[..., Any]) -> Any:
        # Airflow's task_decorator_factory, with a decorator whose expand() keeps the record.
        return SkipwiseTaskDecorator(
            function=fn,
            multiple_outputs=multiple_outputs,
            operator_class=_SkipwiseDecoratedOperator,
            kwargs=dict(kwargs),
        )

    if python_callable is None:
        return decorate  # type: ignore[return-value]
    if not callable(python_callable):
        raise TypeError("@task.skipwise takes no positional arguments but the function")
    return decorate(python_callable)  # type: ignore[no-any-return]
