"""skipwise.dagster.asset under real ``materialize`` runs on a persistent instance."""

from __future__ import annotations

import base64
import re

import dagster as dg
import pytest
from dagster._core.definitions.data_version import StaleStatus
from dagster._utils.test.data_versions import get_stale_status_resolver

import skipwise
import skipwise.dagster as sd
from tests.dagster.conftest import Project, latest, status

CHAIN = ["numbers", "scaled", "labels", "summary"]


def run(assets, instance, io_manager, **kwargs) -> dg.ExecuteInProcessResult:
    return dg.materialize(assets, instance=instance, resources={"io_manager": io_manager}, **kwargs)


def graph_nodes(instance: dg.DagsterInstance, key: str) -> dict[str, str]:
    """Node id -> status, read from the SVG embedded in the materialization's Markdown."""
    markdown = latest(instance, key).metadata["skipwise/graph"].value
    encoded = re.search(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)", markdown).group(1)
    svg = base64.b64decode(encoded).decode()
    return dict(re.findall(r'data-id="([^"]+)" data-status="([^"]+)"', svg))


def test_cold_warm_and_a_helper_edit(project: Project, instance, io_manager, isolated_store):
    defs = project.load()
    assert run(defs.chain, instance, io_manager).success
    assert project.calls() == sorted(CHAIN)
    cold = {key: latest(instance, key) for key in CHAIN}
    for mat in cold.values():
        assert mat.metadata["skipwise/status"].value == "computed"
        signature = mat.metadata["skipwise/signature"].value
        assert mat.tags["dagster/data_version"] == signature
        assert mat.metadata["skipwise/tree"].value["signature"] == signature
        assert mat.metadata["skipwise/store"].value == io_manager.open_store().url
    code_versions = {a.key.to_user_string(): a.code_versions_by_key[a.key] for a in defs.chain}
    assert code_versions["scaled"] == skipwise.cached(defs.steps.scaled).code().digest

    # Warm: no body runs and no stored value is read (we damage them all to prove it); every
    # asset is still materialized, with the same data versions.
    stored = {path: path.read_bytes() for path in isolated_store.glob("objects/*/*/data-*")}
    for path in stored:
        path.write_bytes(b"damaged")
    assert run(defs.chain, instance, io_manager).success
    assert project.calls() == []
    with pytest.raises(skipwise.store.CorruptEntry):  # and a damaged value is never served
        store = io_manager.open_store()  # (read directly: a Ref would remove the damaged entry)
        store.load(store.manifest(latest(instance, "labels").metadata["skipwise/signature"].value))
    for path, data in stored.items():
        path.write_bytes(data)
    for key in CHAIN:
        assert status(instance, key) == "reused"
        assert (
            latest(instance, key).tags["dagster/data_version"]
            == (cold[key].tags["dagster/data_version"])
        )

    # Edit the helper behind `scaled`: Dagster sees a new code version on `scaled` only...
    project.edit("helpers.py", "return x * SCALE", "return x * SCALE + 1")
    defs = project.load()
    edited = {a.key.to_user_string(): a.code_versions_by_key[a.key] for a in defs.chain}
    assert {k for k in CHAIN if edited[k] != code_versions[k]} == {"scaled"}
    resolver = get_stale_status_resolver(instance, defs.chain)  # what Dagster's UI shows
    assert resolver.get_status(dg.AssetKey("scaled")) == StaleStatus.STALE
    assert [c.category.name for c in resolver.get_stale_causes(dg.AssetKey("scaled"))] == ["CODE"]
    assert resolver.get_status(dg.AssetKey("labels")) == StaleStatus.FRESH

    # ...and skipwise reruns it and what depends on it, nothing else.
    assert run(defs.chain, instance, io_manager).success
    assert project.calls() == ["scaled", "summary"]
    assert [status(instance, k) for k in CHAIN] == ["reused", "computed", "reused", "computed"]
    reason = latest(instance, "scaled").metadata["skipwise/reason"].value
    assert "minipipe.helpers:scale" in reason
    assert "upstream" in latest(instance, "summary").metadata["skipwise/reason"].value
    nodes = graph_nodes(instance, "scaled")
    assert nodes["minipipe.helpers:scale"] == "changed"
    assert nodes["minipipe.helpers:SCALE"] == "unchanged"
    assert nodes["minipipe.steps:scaled"] == "changed"  # the step itself: recomputed
    assert graph_nodes(instance, "summary")["arg:scaled"] == "changed"
    assert stored_value(io_manager, instance, "scaled") == [1, 3, 5]


def stored_value(io_manager: sd.SkipwiseIOManager, instance: dg.DagsterInstance, key: str):
    signature = latest(instance, key).metadata["skipwise/signature"].value
    return skipwise.Ref(signature, io_manager.open_store()).load()


def test_config_enters_the_signature_like_an_argument(project: Project, instance, io_manager):
    defs = project.load()
    config = {"ops": {"numbers": {"config": {"n": 5}}}}
    assert run(defs.chain, instance, io_manager, run_config=config).success
    assert project.calls() == sorted(CHAIN)
    signature = latest(instance, "numbers").metadata["skipwise/signature"].value
    # The same call in plain Python has the same signature: names and hosts do not count.
    assert skipwise.signature(defs.steps.numbers, 5) == signature
    assert run(defs.chain, instance, io_manager, run_config=config).success
    assert project.calls() == []
    assert run(defs.chain, instance, io_manager).success  # back to the default n=3
    assert project.calls() == sorted(CHAIN)


def test_an_error_in_the_body_stores_nothing(project: Project, instance, io_manager) -> None:
    project.edit("steps.py", 'record("scaled")', 'record("scaled")\n    raise ValueError("boom")')
    defs = project.load()
    result = run(defs.chain, instance, io_manager, raise_on_error=False)
    assert not result.success
    assert project.calls() == ["labels", "numbers", "scaled"]  # summary never started
    store = io_manager.open_store()
    assert {m.name for m in store.manifests()} == {"numbers", "labels"}
    assert store.pointer("scaled") is None
    assert instance.get_latest_materialization_event(dg.AssetKey("scaled")) is None

    project.edit("steps.py", '\n    raise ValueError("boom")', "")
    defs = project.load()
    assert run(defs.chain, instance, io_manager).success
    assert project.calls() == ["scaled", "summary"]


def test_partition_backfill_recomputes_only_what_changed(project: Project, instance, io_manager):
    def backfill(defs, partitions) -> None:
        """What a (multi-run) backfill does: one run per partition."""
        for partition in partitions:
            assert run(defs.partitioned, instance, io_manager, partition_key=partition).success

    defs = project.load()
    backfill(defs, ["2024-01-01", "2024-01-02"])
    assert project.calls() == [
        "calibrated:2024-01-01", "calibrated:2024-01-02",
        "readings:2024-01-01", "readings:2024-01-02",
    ]  # fmt: skip
    first = latest(instance, "readings", "2024-01-01").metadata["skipwise/tree"].value
    second = latest(instance, "readings", "2024-01-02").metadata["skipwise/tree"].value
    assert first["extra"] == {"partition": "2024-01-01"}
    assert first["signature"] != second["signature"]  # same code, different partition

    backfill(defs, ["2024-01-01", "2024-01-02"])
    assert project.calls() == []

    # A code change under `calibrated`, then a backfill over all three partitions.
    project.edit("helpers.py", "SCALE = 2", "SCALE = 3")
    defs = project.load()
    backfill(defs, ["2024-01-01", "2024-01-02", "2024-01-03"])
    assert project.calls() == [
        "calibrated:2024-01-01", "calibrated:2024-01-02", "calibrated:2024-01-03",
        "readings:2024-01-03",
    ]  # fmt: skip
    assert status(instance, "readings", "2024-01-02") == "reused"
    assert status(instance, "calibrated", "2024-01-02") == "computed"
    reason = latest(instance, "calibrated", "2024-01-02").metadata["skipwise/reason"].value
    assert "minipipe.helpers:SCALE" in reason  # compared with the same partition's last result

    # An unpartitioned asset over every partition gets {partition: value}; the job must know
    # the upstream's partitions, or one partition could stand in for all.
    with pytest.raises(dg.Failure, match="does not know its partitions"):
        run([defs.report], instance, io_manager)
    everything = [defs.report, *defs.partitioned]
    assert run(everything, instance, io_manager, selection=[defs.report]).success
    assert project.calls() == ["report"]
    assert stored_value(io_manager, instance, "report") == {"2024-01-01": 3 * (10 + ord("1")), "2024-01-02": 3 * (10 + ord("2")),
                      "2024-01-03": 3 * (10 + ord("3"))}  # fmt: skip
    assert run(everything, instance, io_manager, selection=[defs.report]).success
    assert project.calls() == []


def test_the_store_comes_from_a_skipwise_io_manager(project: Project, instance) -> None:
    defs = project.load()
    with pytest.raises(dg.DagsterInvalidDefinitionError, match="SkipwiseIOManager"):
        dg.materialize([defs.numbers], instance=instance)
    assert project.calls() == []


def test_options_dagster_owns_are_refused(project: Project) -> None:
    defs = project.load()
    with pytest.raises(dg.DagsterInvalidDefinitionError, match="code_version"):
        sd.asset(defs.steps.numbers, code_version="1")
    with pytest.raises(dg.DagsterInvalidDefinitionError, match="ins= names no parameter"):
        sd.asset(defs.steps.scaled, ins={"nope": "numbers"})


def test_a_run_tag_forces_and_identical_output_stops_the_cascade(project, instance, io_manager):
    defs = project.load()
    assert run(defs.chain, instance, io_manager).success
    project.calls()
    forced = {"skipwise/force": "scaled"}
    assert run(defs.chain, instance, io_manager, tags=forced).success
    assert project.calls() == ["scaled"]  # its output is the same: summary is reused
    reason = latest(instance, "scaled").metadata["skipwise/reason"].value
    assert reason == "forced: recompute requested"
    assert [status(instance, k) for k in CHAIN] == ["reused", "computed", "reused", "reused"]


def test_a_damaged_upstream_is_recomputed_by_its_next_run(project, instance, io_manager):
    defs = project.load()
    assert run(defs.chain, instance, io_manager).success
    project.calls()
    store = io_manager.open_store()
    scaled = store.manifest(latest(instance, "scaled").metadata["skipwise/signature"].value)
    data = next(io_manager_root(io_manager).glob(f"objects/*/{scaled.signature}/data-*"))
    data.write_bytes(b"damaged")
    project.edit("steps.py", '"total": sum(scaled)', '"total": sum(scaled) + 1')
    defs = project.load()
    failed = run(defs.chain, instance, io_manager, raise_on_error=False)
    assert not failed.success and project.calls() == []  # summary could not load scaled
    assert store.manifest(scaled.signature) is None  # the damaged entry was removed...
    assert run(defs.chain, instance, io_manager).success
    assert project.calls() == ["scaled", "summary"]  # ...so its producer recomputed it
    assert stored_value(io_manager, instance, "summary")["total"] == 7


def io_manager_root(io_manager: sd.SkipwiseIOManager):
    from pathlib import Path

    return Path(io_manager.open_store().root)


def test_declared_inputs_rerun_an_asset(project: Project, instance, io_manager, tmp_path):
    """``depends_on`` reaches the asset through the shared step options."""
    rates = tmp_path / "rates.csv"
    rates.write_text("1\n")
    defs = project.load()
    labels = sd.asset(defs.steps.labels, depends_on=[skipwise.File(rates)])
    assert run([defs.numbers, labels], instance, io_manager).success
    assert project.calls() == ["labels", "numbers"]
    assert run([defs.numbers, labels], instance, io_manager).success
    assert project.calls() == []
    rates.write_text("2\n")
    assert run([defs.numbers, labels], instance, io_manager).success
    assert project.calls() == ["labels"]
    reason = latest(instance, "labels").metadata["skipwise/reason"].value
    assert reason == f"file {skipwise.File(rates).label} changed"
