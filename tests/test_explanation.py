"""One explanation for every face (``skipwise explain``, the Airflow tab, the Dagster report):
the origin of a rerun, the source diff of each change, and a tree picture that agrees with the
plan (an upstream that reruns is not drawn "unchanged")."""

from __future__ import annotations

from collections.abc import Callable

from skipwise import config
from skipwise.host import (
    Explanation,
    Status,
    diff_css,
    diff_html,
    diff_markdown,
    discover,
    explain,
    make_plan,
)

PIPELINE = """
import skipwise

RATE = {rate}


def price(x):
    return round(x * (1 + RATE), 2)


@skipwise.cached
def load(n):
    return list(range(n))


@skipwise.cached
def clean(values):
    return [price(v) for v in values]


@skipwise.cached
def report(cleaned):
    return sum(cleaned)
"""


def edited(make_module: Callable[..., object]) -> tuple[object, Callable[[str], Explanation]]:
    """The pipeline ran with RATE 0.2, then RATE became 0.21: an explanation per name."""
    module = make_module("shop_pipeline", PIPELINE.format(rate="0.2"))
    module.report(module.clean(module.load(3)))
    module = make_module("shop_pipeline", PIPELINE.format(rate="0.21"))
    targets = {t.name: t for t in discover(module)}
    store = config.current_store()
    plan = make_plan(targets.values(), store, "shop")

    def of(name: str, current: Callable[[str], object] | None = None) -> Explanation:
        item = next(i for i in plan.items if i.name.endswith(name))
        code = current or (lambda n: targets[n].code())
        return explain(plan, item, store, code)

    return module, of


def test_an_upstream_rerun_is_explained_by_its_origins_diff(make_module) -> None:
    _, of = edited(make_module)
    found = of(".report")
    assert found.item.status is Status.RERUN_UPSTREAM
    assert found.origin.name.endswith(".clean") and found.origin.status is Status.RERUN_CODE
    [diff] = found.diffs
    assert diff.change.subject == "shop_pipeline:RATE"
    assert (diff.before, diff.after) == ("0.2", "0.21")
    assert diff.unified().splitlines()[-2:] == ["-0.2", "+0.21"]
    assert found.to_dict()["diffs"][0]["diff"] == diff.unified()


def test_the_tree_picture_draws_a_rerunning_upstream_as_the_plan_does(make_module) -> None:
    _, of = edited(make_module)
    report = of(".report")
    nodes = {node.id: node for node in report.graph().nodes}
    assert nodes["arg:cleaned"].status is Status.RERUN_CODE  # not "unchanged"
    assert nodes["arg:cleaned"].detail == report.origin.cause
    assert report.upstream["cleaned"].name.endswith(".clean")
    load = of(".load")
    assert load.item.status is Status.REUSE and load.diffs == ()
    clean = {node.id: node.status for node in of(".clean").graph().nodes}
    assert clean["shop_pipeline:RATE"] is Status.CHANGED
    assert clean["arg:values"] is Status.UNCHANGED  # load reuses: its result is unchanged


def test_renderers_show_the_diff_or_say_why_there_is_none(make_module) -> None:
    _, of = edited(make_module)
    [diff] = of(".clean").diffs
    page = diff_html(diff, open=True)
    assert page.startswith("<details class='change' data-subject='shop_pipeline:RATE' open>")
    assert f"<summary>{diff.text}</summary>" in page
    assert "0.21" in page and 'class="gi"' in page  # pygments' class of an inserted line
    assert ".diff .gi" in diff_css() and diff_css(dark=True) != diff_css()
    assert diff_markdown(diff).endswith("```diff\n" + diff.unified() + "\n```\n")
    [unknown] = of(".clean", current=lambda name: None).diffs
    assert unknown.after is None and unknown.unified() == ""
    assert "the current source is not available here" in diff_html(unknown)


def test_a_changed_argument_has_no_diff_and_says_why(make_module) -> None:
    import sys
    from pathlib import Path

    from skipwise.importing import targets_of

    source = "import skipwise\n\n\n@skipwise.cached\ndef load(n):\n    return n\n\n\nload({n})\n"
    path = Path(make_module("args_pipeline", source.format(n=3)).__file__)  # ran load(3)
    path.write_text(source.format(n=4))  # planned, not run
    sys.modules.pop("args_pipeline")
    store = config.current_store()
    plan = make_plan(targets_of(str(path)), store, "args")
    [item] = plan.items
    assert item.status is Status.RERUN_INPUT
    [diff] = explain(plan, item, store, lambda name: None).diffs
    assert diff.change.kind == "argument" and diff.unified() == ""
    assert "a value, not code: nothing to diff" in diff_html(diff)
