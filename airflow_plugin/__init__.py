"""Airflow integration: tasks that skip unchanged work, and a "Signatures" tab in the UI.

``SkipwiseOperator`` (or ``@task.skipwise``) runs its callable only when the call's signature
(code, rendered arguments, upstream results by signature) is not in the store; either way the
task succeeds and pushes a small reference to the result, never the data. Downstream skipwise
tasks receive the object; a plain task gets it with :func:`load`.

Airflow imports this package in every process that discovers providers or plugins, so the
names below are imported on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from skipwise.airflow.decorator import skipwise_task
    from skipwise.airflow.operator import SkipwiseOperator
    from skipwise.airflow.reference import load

__all__ = ["SkipwiseOperator", "load", "skipwise_task"]

_HOMES = {
    "SkipwiseOperator": "skipwise.airflow.operator",
    "load": "skipwise.airflow.reference",
    "skipwise_task": "skipwise.airflow.decorator",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
