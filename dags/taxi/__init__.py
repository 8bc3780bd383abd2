"""An example pipeline: synthetic taxi trips -> cleaned -> features -> model -> metrics.

The step functions are plain Python; each front end (skipwise.cached, Airflow, Dagster) wraps
the same functions.
"""

import skipwise

# The pipeline's small instance, for fast iteration: run with SKIPWISE_INSTANCE=mini, the
# Airflow param skipwise_instance=mini, or SkipwiseIOManager(pipeline_instance="mini"). Its
# trips are fewer (and signed so); steps downstream follow by their upstream signatures.
MINI = skipwise.Instance(
    "mini", derive={"taxi.trips": lambda args: {"n_trips": min(int(args["n_trips"]), 500)}}
)
