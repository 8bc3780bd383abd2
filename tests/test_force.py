"""Forcing a recompute, and early cutoff: a step consumes its upstream's content, so it reruns
when a recompute changed that content and not when it did not."""

from __future__ import annotations

from pathlib import Path

import pytest

import skipwise
from skipwise import Status, host


def test_force_replaces_the_result_and_reruns_only_what_consumes_a_change(
    make_module, isolated_store: Path
) -> None:
    module = make_module(
        "forced_pipe",
        """
        import skipwise

        CALLS = []

        @skipwise.cached(ignore=["noise"])
        def load(n, noise=0):  # noise stands for data skipwise cannot see
            CALLS.append("load")
            return list(range(n + noise))

        @skipwise.cached
        def total(rows):
            CALLS.append("total")
            return sum(rows)
        """,
    )
    calls = module.CALLS
    assert module.total(module.load(3)) == 3 and calls == ["load", "total"]
    assert module.total(module.load(3, noise=1)) == 3 and calls == ["load", "total"]  # stale

    forced = module.load.run(3, noise=1, force=True)
    assert (forced.status, forced.reason, forced.value) == (
        Status.COMPUTED,
        host.Reason.FORCED,
        [0, 1, 2, 3],
    )
    assert module.total(forced.value) == 6 and calls[-2:] == ["load", "total"]
    assert module.load(3) == [0, 1, 2, 3]  # the forced result replaced the stale one

    again = module.load.run(3, noise=1, force=True)  # same output: the cascade stops
    assert module.total.run(again.value).status is Status.REUSED


def test_early_cutoff_after_an_edit_with_the_same_output(make_module) -> None:
    source = """
        import skipwise

        CALLS = []

        @skipwise.cached(name="cutoff.double")
        def double(x):
            CALLS.append("double")
            return {body}

        @skipwise.cached(name="cutoff.report")
        def report(value):
            CALLS.append("report")
            return f"value={{value}}"
        """
    first = make_module("cutoff_pipe", source.format(body="x * 2"))
    assert first.report(first.double(4)) == "value=8"
    second = make_module("cutoff_pipe", source.format(body="x + x"))
    outcome = second.report.run(second.double(4))
    assert second.CALLS == ["double"] and outcome.status is Status.REUSED
    third = make_module("cutoff_pipe", source.format(body="x * 3"))
    assert third.report(third.double(4)) == "value=12" and third.CALLS == ["double", "report"]


def test_refs_sign_by_content_too(isolated_store: Path) -> None:
    @skipwise.cached(name="refs.source", ignore=["salt"])
    def source(salt):
        return [1, 2] if salt < 2 else [1, 2, 3]

    runs: list[int] = []

    @skipwise.cached(name="refs.consumer")
    def consumer(rows):
        runs.append(1)
        return len(rows)

    signature = source.run(0).signature
    assert consumer(skipwise.Ref(signature)) == 2
    source.run(1, force=True)  # same content under the same signature
    assert consumer(skipwise.Ref(signature)) == 2 and runs == [1]
    source.run(2, force=True)  # new content under the same signature
    assert consumer(skipwise.Ref(signature)) == 3 and runs == [1, 1]


def test_the_environment_forces_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    runs: list[str] = []

    @skipwise.cached(name="env.kept")
    def kept():
        runs.append("kept")

    @skipwise.cached(name="env.forced")
    def forced():
        runs.append("forced")

    kept(), forced()
    monkeypatch.setenv("SKIPWISE_FORCE", "other, env.for*")
    kept(), forced()
    assert runs == ["kept", "forced", "forced"]
    monkeypatch.setenv("SKIPWISE_FORCE", "*")
    kept()
    assert runs[-1] == "kept"


def test_a_function_with_its_own_force_parameter_keeps_it() -> None:
    @skipwise.cached(name="own.force")
    def strong(force):
        return force * 2

    assert strong.run(force=3).value == 6
    assert strong.run(force=3).status is Status.REUSED


def test_a_bad_force_setting_names_itself() -> None:
    with pytest.raises(skipwise.SkipwiseError, match="DAG run conf 'skipwise_force'"):
        host.force_requested(3, "DAG run conf 'skipwise_force'", "task")


def test_a_damaged_entry_behind_a_ref_is_removed_so_it_is_recomputed(
    isolated_store: Path,
) -> None:
    runs: list[int] = []

    @skipwise.cached(name="damaged.source")
    def source():
        runs.append(1)
        return [1, 2, 3]

    signature = source.run().signature
    for data in isolated_store.glob(f"objects/*/{signature}/data-*"):
        data.write_bytes(b"damaged")
    with pytest.raises(skipwise.store.CorruptEntry, match=r"next run of damaged\.source"):
        skipwise.Ref(signature).load()
    assert source.run().status is Status.COMPUTED and runs == [1, 1]
    assert skipwise.Ref(signature).load() == [1, 2, 3]
