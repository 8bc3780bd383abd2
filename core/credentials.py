"""A store as hosts describe it: a URL, storage options and a signing key, from wherever the host
keeps credentials (an Airflow connection, a Dagster resource, the environment).

Hosts build a :class:`StoreSpec` from their own objects, register :meth:`StoreSpec.secrets`
with their log masker, and open it; what they show of it is :attr:`StoreSpec.display` (the
URL through :func:`skipwise.errors.redact`, the one rendering of a URL for people).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from skipwise import config, extras
from skipwise.errors import MASK, StoreError, is_secret_option, redact, secrets_in
from skipwise.store import Store


@dataclass(frozen=True)
class StoreSpec:
    """Everything needed to open a store. ``origin`` says where it came from, in words that
    hold no secret (``connection 'skipwise_default'``, ``$SKIPWISE_STORE``)."""

    url: str
    storage_options: Mapping[str, Any] = field(default_factory=dict)
    signing_key: str | bytes | None = None  # None: $SKIPWISE_SIGNING_KEY
    origin: str = "configured"

    def __repr__(self) -> str:  # never the password, the secret options or the key
        return f"StoreSpec({self.display!r}, origin={self.origin!r})"

    @property
    def display(self) -> str:
        return redact(self.url)

    def secrets(self) -> list[str]:
        """Every secret in the spec, longest first: the URL's password (as written and
        decoded), storage options named like secrets (at any depth), the signing key, and the
        whole URL when it holds a password."""
        found = set(secrets_in(self.url))
        if found:
            found.add(self.url)
        found.update(_secret_values(self.storage_options))
        if isinstance(self.signing_key, str) and self.signing_key:
            found.add(self.signing_key)
        return sorted(found, key=lambda s: (-len(s), s))

    @classmethod
    def configured(cls, signing_key: str | None = None) -> StoreSpec | None:
        """skipwise's own store setting (``configure``, ``$SKIPWISE_STORE``, else the
        default), with ``signing_key`` if given; None if ``configure`` was given a Store."""
        settings = config.settings()
        if isinstance(settings.store, Store):
            return None
        key = signing_key if signing_key is not None else settings.signing_key
        return cls(config.store_url(), settings.storage_options, key, config.store_origin())

    @classmethod
    def shown(cls, url: str, origin: str) -> StoreSpec:
        """The spec of a store known only by its URL as shown (:attr:`display`), e.g. from
        a result reference; a StoreError if a password was masked out of it."""
        if MASK in url:
            raise StoreError(
                f"store {url} (from {origin}) cannot be opened: its password is not shown; "
                "configure that store where the credentials are kept"
            )
        return cls(url, origin=origin)

    def open(self) -> Store:
        """The store, opened once per process for this URL, options and key."""
        return config.opened_store(self.url, self.storage_options, signing_key=self.signing_key)


def _secret_values(options: Mapping[str, Any]) -> set[str]:
    found: set[str] = set()
    for name, value in options.items():
        if isinstance(value, Mapping):
            found |= _secret_values(value)
        elif is_secret_option(str(name)) and isinstance(value, str) and value:
            found.add(value)
    return found


def sql_url(
    *,
    host: str | None,
    database: str | None,
    username: str | None = None,
    password: str | None = None,
    port: int | None = None,
    query: Mapping[str, str] | None = None,
    drivername: str = "postgresql",
) -> str:
    """A SQLAlchemy URL from a database connection's fields, each quoted as SQLAlchemy
    quotes it (a password may hold ``@``, ``/`` or ``:``)."""
    try:
        from sqlalchemy.engine import URL
    except ImportError as exc:  # the sql extra
        raise StoreError(f"a SQL store needs SQLAlchemy: {extras.hint(exc)}") from exc
    if not host or not database:
        raise StoreError(
            f"a SQL store needs a host and a database; got host={host!r}, database={database!r}"
        )
    url = URL.create(
        drivername,
        username=username or None,
        password=password or None,
        host=host,
        port=port or None,
        database=database,
        query=dict(query or {}),
    )
    return url.render_as_string(hide_password=False)


def s3_options(
    *,
    key: str | None = None,
    secret: str | None = None,
    token: str | None = None,
    endpoint_url: str | None = None,
    region: str | None = None,
) -> dict[str, Any]:
    """s3fs storage options from AWS-style credentials; what is not given is left to s3fs's
    own lookup (``AWS_*`` variables, ``~/.aws``, an instance role)."""
    options: dict[str, Any] = {}
    if key or secret:
        if not (key and secret):
            raise StoreError("S3 credentials need both an access key id and a secret key")
        options.update(key=key, secret=secret)
    if token:
        options["token"] = token
    if endpoint_url:
        options["endpoint_url"] = endpoint_url
    if region:
        options["client_kwargs"] = {"region_name": region}
    return options
