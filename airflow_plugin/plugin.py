"""The Airflow plugin: a "Signatures" tab on every DAG (and task) page, served by a FastAPI app,
and a listener that notes each reuse on its task instance (:mod:`skipwise.airflow.notes`).

Every Airflow process loads plugins, task workers included: the app, and with it FastAPI and
the API server's modules, is imported only when the API server asks for ``fastapi_apps``.
"""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

from skipwise.airflow import notes

URL_PREFIX = "/skipwise"


class SkipwisePlugin(AirflowPlugin):
    name = "skipwise"
    listeners = [notes]  # noqa: RUF012 (Airflow's own attribute): reuses noted in the grid
    external_views = [  # noqa: RUF012 (Airflow's own attribute)
        {
            "name": "Signatures",
            "href": "skipwise/dags/{DAG_ID}/view",  # relative: follows [api] base_url
            "destination": "dag",
            "url_route": "signatures",
        },
        {
            "name": "Signatures",
            "href": "skipwise/dags/{DAG_ID}/view?task={TASK_ID}",
            "destination": "task",
            "url_route": "task-signatures",  # tabs are found by url_route: keep them apart
        },
    ]

    @property
    def fastapi_apps(self) -> list[dict[str, Any]]:  # type: ignore[override]
        from skipwise.airflow.api import app

        return [{"app": app, "url_prefix": URL_PREFIX, "name": "skipwise"}]
