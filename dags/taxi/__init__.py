"""An example pipeline: synthetic taxi trips -> cleaned -> features -> model -> metrics.

The step functions are plain Python; each front end (skipwise.cached, Airflow, Dagster) wraps
the same functions.
"""
