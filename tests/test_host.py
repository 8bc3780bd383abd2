"""The host API: the one step every host runs, the one status vocabulary, and the rule that
the Airflow and Dagster integrations use nothing of core but ``skipwise`` and ``skipwise.host``."""

from __future__ import annotations

import ast
import functools
import json
from pathlib import Path

import pytest

import skipwise
from skipwise import host, plan
from skipwise.host import Reason, Status, Step, StepOptions

ROOT = Path(__file__).resolve().parents[1]
HOSTS = {"airflow_plugin": "skipwise.airflow", "dagster_integration": "skipwise.dagster"}
ALLOWED = {"skipwise", "skipwise.host"}


def core_imports(source: str, own: str) -> list[str]:
    """Modules of skipwise that ``source`` imports, other than the allowed ones and its own
    package (at module level or inside functions)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                found.append(f"relative import from {node.module!r}")
                continue
            names = [node.module or ""]
        else:
            continue
        for name in names:
            if name.split(".")[0] != "skipwise" or name in ALLOWED:
                continue
            if name != own and not name.startswith(own + "."):
                found.append(name)
    return found


def test_the_checker_sees_every_way_to_import_core() -> None:
    source = (
        "import skipwise.engine\n"
        "from skipwise.store import base\n"
        "def f():\n    from skipwise.plan import Target\n"
        "from skipwise import host\nfrom skipwise.host import Step\nimport skipwise\n"
        "from skipwise.airflow.record import FIELD\n"
    )
    assert core_imports(source, "skipwise.airflow") == [
        "skipwise.engine",
        "skipwise.store",
        "skipwise.plan",
    ]


@pytest.mark.parametrize("folder", sorted(HOSTS))
def test_hosts_use_only_the_public_package_and_the_host_api(folder: str) -> None:
    files = sorted((ROOT / folder).glob("*.py"))
    assert files
    offenders = {
        path.name: found
        for path in files
        if (found := core_imports(path.read_text(), HOSTS[folder]))
    }
    assert offenders == {}


def double(x: int) -> int:
    return 2 * x


def test_sign_resolve_complete(isolated_store: Path) -> None:
    step = Step(double, StepOptions(name="host.double"))
    runs: list[int] = []

    def body() -> int:
        runs.append(1)
        return step.call((3,), {})

    tree = step.sign((3,), {})
    assert tree.signature == skipwise.cached(double, name="host.double").signature(3)
    miss = step.resolve(tree)
    assert (miss.hit, miss.status, miss.reason) == (False, Status.COMPUTED, Reason.NEW)
    first = step.complete(miss, body, producer={"my-host": "run-1"})
    assert (first.value, first.status, first.stored, runs) == (6, Status.COMPUTED, True, [1])
    assert first.manifest.producer["context"] == {"my-host": "run-1"}

    hit = step.resolve(step.sign((3,), {}))
    assert (hit.hit, hit.status, hit.reason) == (True, Status.REUSED, Reason.UNCHANGED)
    by_reference = step.complete(hit, body, load=False)
    assert (by_reference.value, by_reference.status, runs) == (None, Status.REUSED, [1])
    assert step.complete(step.resolve(tree), body).value == 6 and runs == [1]


def test_host_facts_enter_the_signature(isolated_store: Path) -> None:
    step = Step(double)
    plain = step.sign((1,), {})
    day_one = step.sign((1,), {}, {host.PARTITION: "2024-01-01"})
    day_two = step.sign((1,), {}, {host.PARTITION: "2024-01-02"})
    assert len({plain.signature, day_one.signature, day_two.signature}) == 3


def test_a_result_the_store_cannot_keep_says_so(isolated_store: Path) -> None:
    skipwise.configure(read_only=True)
    step = Step(double, StepOptions(name="host.readonly"))
    with pytest.warns(skipwise.SkipwiseWarning, match="read-only"):
        outcome = step.run((2,))
    assert (outcome.value, outcome.status, outcome.stored) == (4, Status.COMPUTED, False)


def test_a_step_is_immutable_and_options_are_checked() -> None:
    step = Step(double, StepOptions(name="host.a", ignore=["x"]))
    with pytest.raises(AttributeError, match="immutable"):
        step.name = "other"  # type: ignore[misc]
    renamed = step.replace(name="host.b")
    assert (step.name, renamed.name, renamed.options.ignore) == ("host.a", "host.b", ("x",))
    with pytest.raises(TypeError, match=r"skipwise.cached: unknown option\(s\) \['verison'\]"):
        skipwise.cached(double, verison=2)
    given = {"version": 2, "name": "asset", "group_name": "g"}
    options = StepOptions.take(given, leave=("name",))
    assert (options.version, options.name, given) == (2, None, {"name": "asset", "group_name": "g"})


def _all_of(method):
    """jinja2's ``Context.keys``: a plain function that claims to wrap a builtin."""

    @functools.wraps(method)
    def over(prefix: str) -> list[str]:
        return [k for k in method({"ab": 1, "b": 2}) if k.startswith(prefix)]

    return over


def test_a_function_wrapping_a_builtin_without_parameters_is_bound_by_its_own(
    isolated_store: Path,
) -> None:
    keys = _all_of(dict.keys)
    step = Step(keys, StepOptions(name="host.keys"))
    assert step.run(("a",), load=True).value == ["ab"]
    assert step.sign(("a",)).signature != step.sign(("b",)).signature
    assert step.sign((), {"prefix": "a"}).signature == step.sign(("a",)).signature
    with pytest.raises(TypeError, match=r"cannot read the parameters of host\.dict"):
        Step(dict.keys, StepOptions(name="host.dict"))


def test_a_value_step_signs_by_content(isolated_store: Path) -> None:
    first = Step.for_value("host.value").run(([1, 2],), load=False)
    same = Step.for_value("host.value").run(([1, 2],), load=False)
    other = Step.for_value("host.value").run(([1, 3],), load=False)
    assert (first.status, same.status, other.status) == ("computed", "reused", "computed")
    assert first.signature == same.signature != other.signature


def test_one_status_vocabulary() -> None:
    assert (
        Status.REUSED == "reused" and json.dumps({"s": Status.RERUN_CODE}) == '{"s": "rerun-code"}'
    )
    assert all(status.style.legend for status in Status)
    assert Status.of("from-a-newer-writer") is Status.UNMANAGED
    assert {s for s in Status if s.runs} == {
        Status.COMPUTED,
        Status.NEW,
        Status.RERUN_CODE,
        Status.RERUN_UPSTREAM,
        Status.RERUN_INPUT,
        Status.RERUN_FORCED,
    }


def test_plan_speaks_the_same_words(isolated_store: Path) -> None:
    cached = skipwise.cached(double, name="host.planned")
    targets = plan.discover(_module_with(cached))
    assert [t.name for t in targets] == ["host.planned"]
    before = plan.make_plan(targets, skipwise.open_store(isolated_store), "m").items[0]
    assert (before.status, before.cause) == (Status.NEW, Reason.NEW)
    cached(1)
    after = plan.make_plan(targets, skipwise.open_store(isolated_store), "m").items[0]
    assert (after.status, after.cause) == (Status.REUSE, Reason.UNCHANGED)


def test_discoverers_register_once() -> None:
    def finds_nothing(module: object) -> list[host.Target]:
        return []

    try:
        assert host.register_discoverer(finds_nothing) is finds_nothing
        host.register_discoverer(finds_nothing)
        assert plan._discoverers.count(finds_nothing) == 1
    finally:
        plan._discoverers.remove(finds_nothing)


def _module_with(value: object) -> object:
    import types

    module = types.ModuleType("host_plan_module")
    module.task = value  # type: ignore[attr-defined]
    return module
