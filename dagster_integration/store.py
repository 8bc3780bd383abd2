"""``SkipwiseStore``: the store as a Dagster resource, its secrets given as ``EnvVar``s.

Dagster resolves an ``EnvVar`` where the step runs and shows only the variable's name in the
UI, so credentials stay in the deployment's environment (a Kubernetes secret, ``.env``)::

    store = SkipwiseStore(
        url=EnvVar("SKIPWISE_STORE"),
        storage_options=S3Options(key=EnvVar("AWS_ACCESS_KEY_ID"),
                                  secret=EnvVar("AWS_SECRET_ACCESS_KEY")),
        signing_key=EnvVar("SKIPWISE_SIGNING_KEY"),
    )
    defs = Definitions(assets=[...], resources={"io_manager": SkipwiseIOManager(store=store)})
"""

from __future__ import annotations

import dagster as dg
from pydantic import Field

from skipwise import StoreError
from skipwise.host import Store, StoreSpec, current_store, s3_options


class S3Options(dg.Config):
    """Credentials and endpoint of an S3 store (s3fs options); what is left empty comes from
    s3fs's own lookup (``AWS_*`` variables, ``~/.aws``, an instance role)."""

    key: str | None = Field(default=None, description="access key id", repr=False)
    secret: str | None = Field(default=None, description="secret access key", repr=False)
    token: str | None = Field(default=None, description="session token", repr=False)
    endpoint_url: str | None = Field(default=None, description="e.g. http://minio:9000")
    region: str | None = Field(default=None, description="e.g. eu-west-1")


class SkipwiseStore(dg.ConfigurableResource):
    """Where skipwise results live. An empty ``url`` is skipwise's configured store
    (``$SKIPWISE_STORE``, else ``.skipwise/`` at the project root)."""

    url: str = Field(
        default="",
        description="Store URL or path (local, file://, memory://, s3://, postgresql://, "
        "sqlite:///); a PostgreSQL password may be in it (give it as an EnvVar).",
        repr=False,
    )
    storage_options: S3Options | None = Field(
        default=None, description="Credentials of an S3 store."
    )
    signing_key: str | None = Field(
        default=None,
        description="Signs pickled results on shared stores (default $SKIPWISE_SIGNING_KEY).",
        repr=False,
    )

    def spec(self) -> StoreSpec | None:
        """The store's spec; None when neither a URL nor a key is given (skipwise's own)."""
        s3 = self.storage_options
        options = s3_options(**s3.model_dump()) if s3 is not None else {}
        if self.url:
            return StoreSpec(self.url, options, self.signing_key, "SkipwiseStore resource")
        if options:
            raise StoreError("SkipwiseStore: storage_options are given, but no url to use them on")
        return StoreSpec.configured(self.signing_key) if self.signing_key else None

    def open(self) -> Store:
        """The store, opened once per process for these settings."""
        spec = self.spec()
        return current_store() if spec is None else spec.open()
