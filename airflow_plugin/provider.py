"""Provider metadata: makes ``@task.skipwise`` available in every DAG file."""

from __future__ import annotations

from typing import Any


def get_provider_info() -> dict[str, Any]:
    """Read by Airflow through the ``apache_airflow_provider`` entry point."""
    from skipwise import __version__

    return {
        "package-name": "skipwise",  # must be the distribution's name
        "name": "skipwise",
        "description": "Tasks that skip work whose code and inputs have not changed.",
        "versions": [__version__],
        "task-decorators": [
            {"name": "skipwise", "class-name": "skipwise.airflow.decorator.skipwise_task"}
        ],
    }
