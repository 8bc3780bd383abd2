"""skipwise.dagster.multi_asset under real ``materialize`` runs: one body returns two
DataFrames, stored once; each output is an asset whose downstream loads and is signed by its
part only."""

from __future__ import annotations

import textwrap

import dagster as dg
import pytest

import skipwise.dagster as sd
from tests.dagster.conftest import Project, latest, status
from tests.parts_project import AS_TUPLE, CONSUMERS, STEPS

PARTS = STEPS.replace(*AS_TUPLE) + textwrap.dedent("""
    import dagster as dg
    import skipwise.dagster as sd

    def count():
        record("count")
        return 7

    def report(even):  # a plain asset: its input comes through the IO manager
        return len(even)

    parts = sd.multi_asset(split, outs={"even": dg.AssetOut(), "odd": dg.AssetOut()})
    assets = [
        parts,
        sd.asset(total_even),
        sd.asset(total_odd),
        dg.asset(report),
    ]
""")
OUTPUTS = ["even", "odd"]


def run(assets, instance, io_manager, **kwargs) -> dg.ExecuteInProcessResult:
    return dg.materialize(assets, instance=instance, resources={"io_manager": io_manager}, **kwargs)


@pytest.fixture
def parts(project: Project) -> Project:
    (project.root / "minipipe" / "parts.py").write_text(PARTS)
    return project


def load(parts: Project):
    parts.load()
    import minipipe.parts

    return minipipe.parts


def test_one_body_two_assets_each_downstream_signed_by_its_part(
    parts: Project, instance, io_manager
) -> None:
    defs = load(parts)
    cold = run(defs.assets, instance, io_manager)
    assert cold.success
    assert parts.calls() == ["split", "total_even", "total_odd"]
    outputs = {key: latest(instance, key) for key in OUTPUTS}
    assert {key: m.metadata["skipwise/item"].value for key, m in outputs.items()} == {
        "even": 0,
        "odd": 1,
    }
    signature = outputs["even"].metadata["skipwise/signature"].value
    assert outputs["odd"].metadata["skipwise/signature"].value == signature
    assert cold.output_for_node("report") == 3  # [0, 2, 4]: the plain asset got its part
    totals = {key: latest(instance, key).metadata["skipwise/signature"].value for key in CONSUMERS}
    assert totals["total_even"] != totals["total_odd"]
    store = io_manager.open_store()
    assert [store.load(store.manifest(totals[key])) for key in CONSUMERS] == [6, 4]

    warm = run(defs.assets, instance, io_manager)
    assert warm.success
    assert parts.calls() == []  # no body ran; every output was still materialized
    assert [status(instance, key) for key in [*OUTPUTS, *CONSUMERS]] == ["reused"] * 4
    assert warm.output_for_node("report") == 3

    parts.edit("parts.py", "int(odd.x.sum())", "int(odd.x.sum()) * 10")
    defs = load(parts)
    assert run(defs.assets, instance, io_manager).success
    assert parts.calls() == ["total_odd"]
    assert [status(instance, key) for key in CONSUMERS] == ["reused", "computed"]
    odd = latest(instance, "total_odd").metadata["skipwise/signature"].value
    assert store.load(store.manifest(odd)) == 40


def test_a_dict_result_by_output_name_and_a_wrong_shape_fails_by_name(
    parts: Project, instance, io_manager
) -> None:
    parts.edit("parts.py", *reversed(AS_TUPLE))
    defs = load(parts)
    assert run(defs.assets, instance, io_manager).success
    assert parts.calls() == ["split", "total_even", "total_odd"]
    assert latest(instance, "odd").metadata["skipwise/item"].value == "odd"
    store = io_manager.open_store()
    odd = latest(instance, "total_odd").metadata["skipwise/signature"].value
    assert store.load(store.manifest(odd)) == 4

    # A result of another shape fails the step by name, on a miss and on a hit alike; the
    # stored result is kept (the body does not run again).
    wrong = sd.multi_asset(defs.count, outs={"one": dg.AssetOut(), "two": dg.AssetOut()})
    for calls in (["count"], []):
        failed = run([wrong], instance, io_manager, raise_on_error=False)
        assert not failed.success
        assert parts.calls() == calls
        (failure,) = [e for e in failed.all_events if e.is_step_failure]
        message = failure.step_failure_data.error.message
        assert "one, two: the result must be a tuple of 2 or a dict" in message


def test_checks_of_a_multi_asset_follow_its_one_step(parts: Project, instance, io_manager) -> None:
    """Each output has its check; an edit of the shared body fails both and what reads them."""
    defs = load(parts)
    assert run(defs.assets, instance, io_manager).success
    parts.edit("parts.py", "frame = pd.DataFrame", "frame = 1 * pd.DataFrame")
    defs = load(parts)
    checks = sd.checks(defs.assets)
    only = dg.AssetSelection.all_asset_checks()
    result = run([*defs.assets, checks], instance, io_manager, selection=only)
    evaluations = {e.asset_key.to_user_string(): e for e in result.get_asset_check_evaluations()}
    assert {key: e.metadata["skipwise/status"].value for key, e in evaluations.items()} == {
        "even": "rerun-code",
        "odd": "rerun-code",
        "total_even": "rerun-upstream",
        "total_odd": "rerun-upstream",
    }
    assert parts.calls() == sorted(["split", *CONSUMERS])  # the first run only
