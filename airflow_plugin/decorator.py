"""``@task.skipwise``: the TaskFlow form of :class:`SkipwiseOperator`."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from airflow.sdk.bases.decorator import DecoratedOperator, TaskDecorator, task_decorator_factory

from skipwise.airflow.operator import SkipwiseOperator


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
    return task_decorator_factory(
        python_callable=python_callable,
        multiple_outputs=kwargs.pop("multiple_outputs", False),
        decorated_operator_class=_SkipwiseDecoratedOperator,
        **kwargs,
    )
