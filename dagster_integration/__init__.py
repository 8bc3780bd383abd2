"""Dagster integration: assets that skip unchanged work, and an IO manager over the store.

``asset`` wraps ``dagster.asset`` around a plain function: its body runs only when its
signature (code, config, partition, upstream signatures) is new; ``multi_asset`` does the same
for a function returning several assets together (a tuple or dict). ``SkipwiseIOManager`` keeps
values in a skipwise store by signature; its ``store`` is a ``SkipwiseStore`` resource (secrets
as ``EnvVar``s) or a URL. Each materialization's data version is the signature,
and its metadata shows what happened, why, and the signature graph. ``checks`` gives each
skipwise asset the asset check ``skipwise_up_to_date``: what the next materialization will do,
predicted without running any body.
"""

from skipwise.dagster.checks import checks
from skipwise.dagster.decorator import asset, multi_asset
from skipwise.dagster.io_manager import SkipwiseIOManager
from skipwise.dagster.store import S3Options, SkipwiseStore

__all__ = ["S3Options", "SkipwiseIOManager", "SkipwiseStore", "asset", "checks", "multi_asset"]
