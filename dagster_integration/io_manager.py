"""``SkipwiseIOManager``: asset values in a skipwise store, by signature."""

from __future__ import annotations

from typing import Any

import dagster as dg
from pydantic import Field

from skipwise.dagster.lineage import (
    one_partition,
    partition_name,
    required_result,
    result_name,
)
from skipwise.dagster.report import outcome_metadata
from skipwise.dagster.store import SkipwiseStore
from skipwise.host import Step, Store


class SkipwiseIOManager(dg.ConfigurableIOManager):
    """Keeps asset values in a skipwise store and loads inputs by their upstream signature.

    Assets made with :func:`skipwise.dagster.asset` store their own results, only on a miss,
    in this IO manager's store. Plain ``@dg.asset`` outputs are stored under a signature of
    their content. Partitioned assets are stored per partition; an input spanning several
    partitions loads as a ``{partition: value}`` dict.
    """

    store: SkipwiseStore = Field(
        description="The store: a SkipwiseStore resource (secrets as EnvVars), or its URL"
    )

    def __init__(self, store: SkipwiseStore | str = "", **config: Any) -> None:
        """``store`` is a :class:`SkipwiseStore`, or a URL or path for ``SkipwiseStore(url=)``;
        empty: skipwise's configured store (``$SKIPWISE_STORE``, else ``.skipwise``)."""
        if isinstance(store, str):
            store = SkipwiseStore(url=store)
        super().__init__(store=store, **config)

    def open_store(self) -> Store:
        return self.store.open()

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        """A plain ``@dg.asset`` body always runs and may read anything (files, resources, the
        clock), so only its content can sign its output safely: downstream steps then rerun
        exactly when the data changed. Two outputs with the same content share one entry."""
        key = _asset_key(context)
        store = self.open_store()
        name = partition_name(result_name(key), _partition(context))
        outcome = Step.for_value(name, store=store).run((obj,), load=False)
        context.add_output_metadata(outcome_metadata(outcome, store.url))

    def load_input(self, context: dg.InputContext) -> Any:
        key = _asset_key(context)
        store = self.open_store()
        if not context.has_asset_partitions:
            return required_result(context.instance, key, store).load()
        values = {
            partition: required_result(context.instance, key, store, partition).load()
            for partition in context.asset_partition_keys
        }
        return next(iter(values.values())) if len(values) == 1 else values


def store_of(resources: Any, io_manager_key: str, label: str) -> Store:
    """The store of the ``SkipwiseIOManager`` under ``io_manager_key`` among a step's
    resources: where skipwise assets keep their results and their checks read them."""
    manager = getattr(resources, io_manager_key)
    if not isinstance(manager, SkipwiseIOManager):
        raise dg.DagsterInvalidDefinitionError(
            f"{label}: resource {io_manager_key!r} must be a "
            f"skipwise.dagster.SkipwiseIOManager (the store results live in), got "
            f"{type(manager).__name__}"
        )
    return manager.open_store()


def _asset_key(context: dg.OutputContext | dg.InputContext) -> dg.AssetKey:
    if not context.has_asset_key:
        raise dg.DagsterInvariantViolationError(
            "SkipwiseIOManager stores asset values: results are found through their asset's "
            "materializations, which ops do not have"
        )
    return context.asset_key


def _partition(context: dg.OutputContext) -> str | None:
    partitions = context.asset_partition_keys if context.has_asset_partitions else []
    return one_partition(context.asset_key.to_user_string(), partitions)
