"""``SkipwiseIOManager``: asset values in a skipwise store, by signature."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
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
from skipwise.host import Step, Store, using_instance


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
    pipeline_instance: str = Field(
        default="",
        description="The skipwise pipeline instance (e.g. mini) results are named in; empty: "
        "the configured one. Set it per run in the run config's resources.",
    )

    def __init__(self, store: SkipwiseStore | str = "", **config: Any) -> None:
        """``store`` is a :class:`SkipwiseStore`, or a URL or path for ``SkipwiseStore(url=)``;
        empty: skipwise's configured store (``$SKIPWISE_STORE``, else ``.skipwise``)."""
        if isinstance(store, str):
            store = SkipwiseStore(url=store)
        super().__init__(store=store, **config)

    def open_store(self) -> Store:
        return self.store.open()

    @contextlib.contextmanager
    def in_instance(self) -> Iterator[None]:
        """Run the block in this manager's pipeline instance (if it names one)."""
        with using_instance(self.pipeline_instance, "SkipwiseIOManager pipeline_instance"):
            yield

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        with self.in_instance():
            self._handle_output(context, obj)

    def load_input(self, context: dg.InputContext) -> Any:
        with self.in_instance():
            return self._load_input(context)

    def _handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        """A plain ``@dg.asset`` body always runs and may read anything (files, resources, the
        clock), so only its content can sign its output safely: downstream steps then rerun
        exactly when the data changed. Two outputs with the same content share one entry."""
        key = _asset_key(context)
        store = self.open_store()
        name = partition_name(result_name(key), _partition(context))
        outcome = Step.for_value(name, store=store).run((obj,), load=False)
        context.add_output_metadata(outcome_metadata(outcome, store.url))

    def _load_input(self, context: dg.InputContext) -> Any:
        key = _asset_key(context)
        store = self.open_store()
        if not context.has_asset_partitions:
            return required_result(context.instance, key, store).load()
        values = {
            partition: required_result(context.instance, key, store, partition).load()
            for partition in context.asset_partition_keys
        }
        return next(iter(values.values())) if len(values) == 1 else values


def manager_of(resources: Any, io_manager_key: str, label: str) -> SkipwiseIOManager:
    """The ``SkipwiseIOManager`` under ``io_manager_key`` among a step's resources: its store
    is where skipwise assets keep their results and their checks read them, in its pipeline
    instance."""
    manager = getattr(resources, io_manager_key)
    if not isinstance(manager, SkipwiseIOManager):
        raise dg.DagsterInvalidDefinitionError(
            f"{label}: resource {io_manager_key!r} must be a "
            f"skipwise.dagster.SkipwiseIOManager (the store results live in), got "
            f"{type(manager).__name__}"
        )
    return manager


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
