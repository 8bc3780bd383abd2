"""Provider metadata: ``@task.skipwise`` in every DAG file, the ``skipwise`` connection type and
the ``[skipwise]`` section of airflow.cfg."""

from __future__ import annotations

from typing import Any

_CONFIG_OPTIONS = {
    "conn_id": {
        "description": "The skipwise connection holding the default store (default "
        "skipwise_default, used only if it exists). A task's store= wins over it.",
        "example": "skipwise_default",
    },
    "store": {
        "description": "The store URL or path used when no skipwise connection exists; "
        "$SKIPWISE_STORE, else .skipwise/ at the project root, when empty.",
        "example": "s3://bucket/skipwise",
        "sensitive": True,  # a URL may hold a password
    },
    "signing_key": {
        "description": "Signs pickled results on shared stores, unless the store's "
        "connection has a password (then that is the key). Use signing_key_secret (a "
        "secrets backend path) or signing_key_cmd rather than the key itself.",
        "example": None,
        "sensitive": True,
    },
}


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
        "connection-types": [
            {
                "connection-type": "skipwise",
                "hook-class-name": "skipwise.airflow.hook.SkipwiseHook",
                "hook-name": "skipwise store",
                "conn-fields": {
                    "store": {
                        "label": "Store URL or path",
                        "schema": {"type": ["string", "null"]},
                        "description": "s3://bucket/prefix, /shared/skipwise, ...; not needed "
                        "with a PostgreSQL connection",
                    },
                    "aws_conn_id": {
                        "label": "AWS connection (S3 credentials)",
                        "schema": {"type": ["string", "null"]},
                    },
                    "postgres_conn_id": {
                        "label": "PostgreSQL connection (the store's database)",
                        "schema": {"type": ["string", "null"]},
                    },
                    "sql_schema": {
                        "label": "PostgreSQL schema of the tables (default skipwise)",
                        "schema": {"type": ["string", "null"]},
                    },
                    "storage_options": {
                        "label": "Storage options (JSON)",
                        "schema": {"type": ["object", "null"]},
                    },
                },
                "ui-field-behaviour": {
                    "hidden-fields": ["host", "schema", "login", "port"],
                    "relabeling": {"password": "Signing key"},
                    "placeholders": {},
                },
            }
        ],
        "config": {
            "skipwise": {
                "description": "Where skipwise tasks keep their results (see docs/airflow.md).",
                "options": {
                    name: {"version_added": None, "type": "string", "default": None, **option}
                    for name, option in _CONFIG_OPTIONS.items()
                },
            }
        },
    }
