"""The taxi pipeline as an Airflow DAG: the same step functions as ``taxi/pipeline.py``.

Each task stores its result under the same name as the plain-Python pipeline (``taxi.cleaned``
...) and is signed the same way, so a result computed by any front end (plain Python, Airflow,
Dagster) is reused by the others on a shared store (``$SKIPWISE_STORE``, else ``.skipwise``).
Try it with ``airflow dags test taxi -c '{"n_trips": 2000}'``.
"""

import pendulum
from airflow.sdk import dag, task

from taxi import steps


def step(fn, task_id: str):
    """A ``@task.skipwise`` task around a pipeline step, stored as ``taxi.<task_id>``."""
    return task.skipwise(fn, task_id=task_id, name=f"taxi.{task_id}")


@dag(
    dag_id="taxi",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    params={"n_trips": 200_000, "skipwise_instance": ""},  # "mini": see taxi/__init__.py
    render_template_as_native_obj=True,  # n_trips arrives as an int, as in plain Python
    tags=["skipwise"],
)
def taxi_pipeline():
    trips = step(steps.make_trips, "trips")(n_trips="{{ params.n_trips }}")
    cleaned = step(steps.clean, "cleaned")(trips)
    fares = step(steps.fare_features, "fare_features")(cleaned)
    times = step(steps.time_features, "time_features")(cleaned)
    model = step(steps.fit_model, "model")(fares, times)
    step(steps.evaluate, "metrics")(model, fares, times)


taxi = taxi_pipeline()
