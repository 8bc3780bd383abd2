"""Celery settings for Airflow workers: Airflow's own, plus the store's libraries imported once
in the worker.

Airflow forks every task instance from a Celery worker process, so what the worker imported
is there in every task at no cost; without it, each task on an S3 or PostgreSQL store imports
s3fs or SQLAlchemy again (about a second of CPU). The store is the one tasks use by default,
found as they find it (the ``skipwise`` connection, ``[skipwise] store``, ``$SKIPWISE_STORE``:
:mod:`skipwise.airflow.stores`). Use with
``[celery] celery_config_options = skipwise.airflow.celery.CELERY_CONFIG``
(``AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS``).
"""

from __future__ import annotations

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG

from skipwise.airflow.stores import import_configured_backend

import_configured_backend()

CELERY_CONFIG = DEFAULT_CELERY_CONFIG
