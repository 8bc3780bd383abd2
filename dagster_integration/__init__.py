"""Dagster integration: assets that skip unchanged work, and an IO manager over the store.

``asset`` wraps ``dagster.asset`` around a plain function: its body runs only when its
signature (code, config, partition, upstream signatures) is new; ``multi_asset`` does the same
for a function returning several assets together (a tuple or dict). ``SkipwiseIOManager`` keeps
values in a skipwise store by signature. Each materialization's data version is the signature,
and its metadata shows what happened, why, and the signature graph.
"""

from skipwise.dagster.decorator import asset, multi_asset
from skipwise.dagster.io_manager import SkipwiseIOManager

__all__ = ["SkipwiseIOManager", "asset", "multi_asset"]
