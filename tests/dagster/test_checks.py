"""The asset check ``skipwise_up_to_date``: skipwise's prediction, evaluated by real Dagster
runs on a persistent instance without running any asset body. After a helper edit the check
of the asset that uses it and of every skipwise asset downstream fails with the plan's reason,
and the next materialization does what the checks said."""

from __future__ import annotations

import base64

import dagster as dg
import pytest

import skipwise.dagster as sd
from tests.dagster.conftest import Project, latest

CHAIN = ["numbers", "scaled", "labels", "summary"]


def run_checks(
    defs_module, instance: dg.DagsterInstance, io_manager: sd.SkipwiseIOManager, group="chain"
) -> dict[str, dg.AssetCheckEvaluation]:
    """Only the checks, as ``Execute all`` on the asset graph runs them."""
    assets = getattr(defs_module, group)
    result = dg.materialize(
        [*assets, sd.checks(assets)],
        instance=instance,
        resources={"io_manager": io_manager},
        selection=dg.AssetSelection.all_asset_checks(),
    )
    assert result.success
    assert not result.get_asset_materialization_events()  # no asset was materialized
    return {
        evaluation.asset_key.to_user_string(): evaluation
        for evaluation in result.get_asset_check_evaluations()
    }


def picture(evaluation: dg.AssetCheckEvaluation) -> str:
    """The SVG embedded in the check's ``skipwise/graph`` Markdown."""
    markdown = evaluation.metadata["skipwise/graph"].value
    return base64.b64decode(markdown.split("base64,", 1)[1].rstrip(")")).decode()


def materialize(defs_module, instance, io_manager) -> None:
    assert dg.materialize(
        defs_module.chain, instance=instance, resources={"io_manager": io_manager}
    ).success


def test_checks_follow_a_helper_edit_downstream(
    project: Project, instance: dg.DagsterInstance, io_manager: sd.SkipwiseIOManager
) -> None:
    defs = project.load()
    never = run_checks(defs, instance, io_manager)
    assert {k: (e.passed, e.metadata["skipwise/status"].value) for k, e in never.items()} == {
        step: (False, "new") for step in CHAIN
    }
    assert project.calls() == []  # checking ran no body

    materialize(defs, instance, io_manager)
    assert project.calls() == sorted(CHAIN)
    fresh = run_checks(project.load(), instance, io_manager)
    assert {k: e.passed for k, e in fresh.items()} == dict.fromkeys(CHAIN, True)

    project.edit("helpers.py", "return x * SCALE", "return x * SCALE - 1")
    edited = run_checks(project.load(), instance, io_manager)
    assert project.calls() == []
    outcome = {k: (e.passed, e.metadata["skipwise/status"].value) for k, e in edited.items()}
    assert outcome == {
        "numbers": (True, "reuse"),
        "labels": (True, "reuse"),
        "scaled": (False, "rerun-code"),
        "summary": (False, "rerun-upstream"),
    }
    assert edited["scaled"].description == (
        "will rerun: code changed: dependency minipipe.helpers:scale changed"
    )
    assert edited["summary"].metadata["skipwise/reason"].value == "upstream scaled will rerun"
    diff = "```diff\n--- minipipe.helpers:scale (stored)\n+++ minipipe.helpers:scale (now)\n"
    for key in ("scaled", "summary"):
        assert edited[key].severity is dg.AssetCheckSeverity.WARN
        # The source diff of the edit, for the asset using it and for its downstream.
        text = edited[key].metadata["skipwise/diff"].value
        assert diff in text and "\n-    return x * SCALE\n+    return x * SCALE - 1\n```" in text
    assert (
        edited["summary"]
        .metadata["skipwise/diff"]
        .value.startswith("- because scaled: dependency minipipe.helpers:scale changed")
    )
    assert "skipwise/diff" not in edited["labels"].metadata
    # The picture is the stored tree coloured as the plan says: the changed constant in red,
    # the argument whose upstream reruns in that upstream's status.
    assert 'data-id="minipipe.helpers:scale" data-status="changed"' in picture(edited["scaled"])
    assert 'data-id="arg:scaled" data-status="rerun-code"' in picture(edited["summary"])

    # What the check predicted is what the next run does; then the checks pass again.
    materialize(project.load(), instance, io_manager)
    assert project.calls() == ["scaled", "summary"]
    # The materialization shows the same diff.
    assert diff in latest(instance, "scaled").metadata["skipwise/diff"].value
    again = run_checks(project.load(), instance, io_manager)
    assert {k: e.passed for k, e in again.items()} == dict.fromkeys(CHAIN, True)


def test_checks_need_skipwise_assets_in_the_checked_store(project: Project) -> None:
    defs = project.load()

    @dg.asset
    def plain():
        return 1

    with pytest.raises(dg.DagsterInvalidDefinitionError, match="none given"):
        sd.checks([plain])
    with pytest.raises(
        dg.DagsterInvalidDefinitionError, match=r"these are not: \['labels', 'numbers'"
    ):
        sd.checks(defs.chain, io_manager_key="other")


def test_a_partitioned_asset_is_checked_against_its_latest_partition(
    project: Project, instance: dg.DagsterInstance, io_manager: sd.SkipwiseIOManager
) -> None:
    defs = project.load()
    for day in ("2024-01-01", "2024-01-02"):
        assert dg.materialize(
            defs.partitioned,
            instance=instance,
            resources={"io_manager": io_manager},
            partition_key=day,
        ).success
    project.calls()
    fresh = run_checks(defs, instance, io_manager, "partitioned")
    assert {k: e.passed for k, e in fresh.items()} == {"readings": True, "calibrated": True}

    project.edit("helpers.py", "SCALE = 2", "SCALE = 3")
    edited = run_checks(project.load(), instance, io_manager, "partitioned")
    assert project.calls() == []
    assert {k: e.metadata["skipwise/status"].value for k, e in edited.items()} == {
        "readings": "reuse",
        "calibrated": "rerun-code",
    }


def test_checks_run_after_the_assets_they_check(
    project: Project, instance: dg.DagsterInstance, io_manager: sd.SkipwiseIOManager
) -> None:
    """Materializing with the checks selected (Dagster's default) checks the new results."""
    defs = project.load()
    result = dg.materialize(
        [*defs.chain, sd.checks(defs.chain)],
        instance=instance,
        resources={"io_manager": io_manager},
    )
    assert result.success
    assert project.calls() == sorted(CHAIN)
    evaluations = result.get_asset_check_evaluations()
    assert sorted(e.asset_key.to_user_string() for e in evaluations if e.passed) == sorted(CHAIN)


def double(raw):
    return [2 * x for x in raw]


def test_a_plain_upstream_is_an_edge_not_a_check(
    instance: dg.DagsterInstance, io_manager: sd.SkipwiseIOManager
) -> None:
    @dg.asset
    def raw():
        return [1, 2]

    assets = [raw, sd.asset(double)]
    resources = {"io_manager": io_manager}
    checks = sd.checks(assets)
    assert [key.asset_key.to_user_string() for key in checks.check_keys] == ["double"]
    assert dg.materialize([*assets, checks], instance=instance, resources=resources).success
    result = dg.materialize(
        [*assets, checks],
        instance=instance,
        resources=resources,
        selection=dg.AssetSelection.all_asset_checks(),
    )
    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.passed and evaluation.metadata["skipwise/status"].value == "reuse"
