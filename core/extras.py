"""Which install command provides a module skipwise found missing.

S3, SQL, Airflow and Dagster support are extras: a store URL or a target that needs one
should say which to install, not show an ImportError from deep inside fsspec or SQLAlchemy.
"""

from __future__ import annotations

# Top-level module -> the extra that installs it.
_EXTRAS = {
    "s3fs": "s3",
    "aiobotocore": "s3",
    "botocore": "s3",
    "sqlalchemy": "sql",
    "airflow": "airflow",
    "dagster": "dagster",
}
# PostgreSQL drivers -> what installs them. psycopg is the one a plain postgresql:// URL
# uses; a URL may name another (postgresql+psycopg2://).
_POSTGRES_DRIVERS = {
    "psycopg": "'skipwise[sql]'",
    "psycopg2": "psycopg2-binary",
    "pg8000": "pg8000",
    "asyncpg": "asyncpg",
}


def hint(error: BaseException) -> str | None:
    """The install command for the module missing behind ``error`` (an ImportError, or an
    error caused by one), or None if no missing module is behind it."""
    missing = _missing_module(error)
    if missing is None:
        return None
    if missing in _EXTRAS:
        return f"{missing} is not installed: pip install 'skipwise[{_EXTRAS[missing]}]'"
    if missing in _POSTGRES_DRIVERS:
        other = "" if missing == "psycopg" else " (or use postgresql+psycopg://, the default)"
        return (
            f"the PostgreSQL driver {missing} is not installed: "
            f"pip install {_POSTGRES_DRIVERS[missing]}{other}"
        )
    return None


def _missing_module(error: BaseException | None) -> str | None:
    """The top-level name of the first missing module along ``error``'s causes."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, ImportError) and error.name:
            return error.name.partition(".")[0]
        error = error.__cause__ or error.__context__
    return None
