"""Pipeline instances under real ``materialize`` runs: the IO manager's ``pipeline_instance``
(set per run in the run config) picks the instance; instances keep their own pointers and
read only their own upstream materializations, share identical signatures, and ``mini``
derives a smaller input."""

from __future__ import annotations

import dagster as dg
import pytest

import skipwise
from skipwise import config
from tests.dagster.conftest import Project, latest

CHAIN = ["numbers", "scaled", "labels", "summary"]


def run_in(defs, instance, io_manager, pipeline_instance: str, selection=None):
    """``materialize`` with the instance given in the run config, as a launched run is."""
    return dg.materialize(
        defs.chain,
        instance=instance,
        resources={"io_manager": io_manager},
        run_config={
            "resources": {"io_manager": {"config": {"pipeline_instance": pipeline_instance}}}
        },
        selection=selection,
    )


def test_two_instances_materialize_without_overwriting(project: Project, instance, io_manager):
    defs = project.load()
    skipwise.Instance("mini", derive={"numbers": lambda args: {"n": 1}})
    store = config.current_store()

    assert run_in(defs, instance, io_manager, "full").success
    assert project.calls() == sorted(CHAIN)
    full = {key: latest(instance, key).metadata["skipwise/signature"].value for key in CHAIN}
    assert {latest(instance, k).metadata["skipwise/instance"].value for k in CHAIN} == {"full"}

    assert run_in(defs, instance, io_manager, "mini").success
    assert project.calls() == sorted(CHAIN)  # numbers(n=1): everything downstream is new
    mini = {key: latest(instance, key).metadata["skipwise/signature"].value for key in CHAIN}
    assert all(mini[key] != full[key] for key in CHAIN)
    assert store.load(store.manifest(mini["summary"])) == {"total": 0, "labels": ["#0"]}
    for key in CHAIN:
        assert store.pointer(key, "full").signature == full[key]
        assert store.pointer(key, "mini").signature == mini[key]

    # A full run of `summary` alone reads full's upstream materializations, not mini's (the
    # latest ones): reused, with full's signature.
    assert run_in(defs, instance, io_manager, "full", selection=["summary"]).success
    assert project.calls() == []
    assert latest(instance, "summary").metadata["skipwise/signature"].value == full["summary"]
    assert latest(instance, "summary").metadata["skipwise/status"].value == "reused"


def test_an_identical_signature_is_served_to_another_instance(
    project: Project, instance, io_manager
):
    defs = project.load()
    assert run_in(defs, instance, io_manager, "").success
    project.calls()
    assert run_in(defs, instance, io_manager, "dev").success
    assert project.calls() == []  # dev derives nothing: every result is served
    store = config.current_store()
    assert {p.instance for p in store.pointers()} == {"", "dev"}
    assert all(store.pointer(k, "dev").signature == store.pointer(k).signature for k in CHAIN)


def test_a_bad_pipeline_instance_fails_the_run_naming_it(project: Project, instance, io_manager):
    defs = project.load()
    with pytest.raises(
        skipwise.InvalidInstance, match="pipeline_instance: invalid instance name 'Mini'"
    ):
        run_in(defs, instance, io_manager, "Mini")
    assert project.calls() == []
    assert list(config.current_store().pointers()) == []
