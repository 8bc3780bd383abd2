"""The Signatures tab as a user sees it, in headless Chromium (Debian's) against a real
``airflow api-server``: before an edit, after an edit the DAG processor has not parsed yet,
after the re-parse with a diff expanded, a function's source, dark mode following Airflow's
theme, and the note Airflow's grid marks on a reused task. Screenshots go to
``test-output/airflow/`` (git-ignored); what they show is checked through the DOM.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from skipwise.airflow.notes import PREFIX
from tests.airflow.conftest import PROJECT, ROOT, USERS, Project, new_home, write_project
from tests.airflow.servers import AIRFLOW, api_server, request, token
from tests.airflow.test_plugin import CHROMIUM, FIRST_RUN, SCALE_CHANGED, run

SHOTS = ROOT / "test-output" / "airflow"
# Two DAG runs, a re-parse and an api-server start before the first test, on a shared machine.
pytestmark = pytest.mark.timeout(1800)


@dataclass(frozen=True)
class Served:
    base: str
    token: str
    env: dict[str, str]
    project: Project


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The DAG ran twice (the second run reused every skipwise task) and was re-parsed; an
    api-server with an empty DAGs folder of its own serves it."""
    folder = tmp_path_factory.mktemp("tab-browser")
    env = {
        **os.environ,
        **new_home(folder / "home"),
        "SKIPWISE_STORE": str(folder / "store"),
        "MINIPIPE_CALLS": str(folder / "calls.log"),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    dags = folder / "home" / "dags"
    write_project(PROJECT, dags)
    run([sys.executable, "-c", FIRST_RUN, str(dags)], env)
    run([sys.executable, "-c", FIRST_RUN, str(dags)], env)
    run([AIRFLOW, "dags", "reserialize"], env)
    empty = folder / "no-dags"
    empty.mkdir()
    with api_server(**{**env, "AIRFLOW__CORE__DAGS_FOLDER": str(empty)}) as base:
        yield Served(base, token(base), env, Project(folder / "calls.log", dags))


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            headless=True,
        )
        try:
            yield chromium
        finally:
            chromium.close()


def logged_in(browser: object, served: Served) -> object:
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    page.goto(f"{served.base}/", wait_until="networkidle", timeout=90_000)
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", USERS["admin"][1])
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/auth/" not in url, timeout=60_000)
    return page


def open_tab(page: object, served: Served, task: str | None = None) -> object:
    """The DAG's Signatures tab; with ``task``, that task selected by clicking it in the DAG
    picture. Returns the iframe's frame."""
    page.goto(f"{served.base}/dags/pipe/plugin/signatures", timeout=90_000)
    frame = page.frame_locator("iframe")
    frame.locator("#tasks").wait_for(timeout=60_000)
    if task is not None:
        frame.locator(f'#graph g.node[data-id="{task}"]').click()
        frame.locator("#task").wait_for(timeout=30_000)
    return frame


def statuses(frame: object) -> dict[str, str]:
    rows = frame.locator("tr[data-task]")
    return {
        rows.nth(i).get_attribute("data-task"): rows.nth(i).get_attribute("data-status")
        for i in range(rows.count())
    }


def edited_and_parsed(served: Served) -> None:
    """SCALE changed and the DAG re-parsed (what the first test does step by step)."""
    helpers = served.project.folder / "minipipe" / "helpers.py"
    if "SCALE = 2" in helpers.read_text():
        served.project.edit("minipipe/helpers.py", "SCALE = 2", "SCALE = 3")
        run([AIRFLOW, "dags", "reserialize"], served.env)


def shot(page: object, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / name
    page.wait_for_timeout(300)
    page.screenshot(path=str(path), full_page=True)
    return path


def test_the_tab_before_and_after_an_edit(served: Served, browser: object) -> None:
    page = logged_in(browser, served)
    frame = open_tab(page, served)
    before = statuses(frame)
    parsed = frame.locator("#parsed").inner_text()
    stale_before = frame.locator("#stale").count()
    shot(page, "tab-before-edit.png")

    served.project.edit("minipipe/helpers.py", "SCALE = 2", "SCALE = 3")
    frame = open_tab(page, served)
    unparsed = statuses(frame)
    stale = frame.locator("#stale").inner_text()
    shot(page, "tab-edited-not-parsed.png")

    run([AIRFLOW, "dags", "reserialize"], served.env)
    frame = open_tab(page, served, task="shifted")
    after = statuses(frame)
    stale_after = frame.locator("#stale").count()
    selected = frame.locator("#graph g.node.selected").get_attribute("data-id")
    origin = frame.locator("#origin").inner_text()
    fed = frame.locator('#tree g.node[data-id="arg:scaled"]').get_attribute("data-status")
    hover = frame.locator('#graph g.node[data-id="scaled"] title').text_content()
    frame.locator("details.change > summary").first.click()  # expand the diff
    diff = frame.locator("details.change[open]").inner_text()
    removed = frame.locator("details.change[open] .gd").last.inner_text()
    added = frame.locator("details.change[open] .gi").last.inner_text()
    frame.locator("#changes").scroll_into_view_if_needed()
    shot(page, "tab-diff-expanded.png")

    frame.locator('#graph g.node[data-id="scaled"]').click()  # select another task
    frame.locator('#task:has-text("scaled")').wait_for(timeout=30_000)
    frame.locator('#tree g.node[data-id="minipipe.helpers:scale"]').click()
    frame.locator("#source").wait_for(state="visible", timeout=10_000)
    source = frame.locator("#source").inner_text()
    shot(page, "tab-function-source.png")
    page.close()

    assert set(before.values()) == {"reuse", "unmanaged"}
    assert parsed.endswith("UTC") and stale_before == 0
    assert unparsed == before  # the tab shows the parsed code until the DAG is re-parsed...
    assert "Code on disk is newer than this parse" in stale  # ...and says so
    assert "minipipe/helpers.py" in stale
    assert after["scaled"] == "rerun-code" and after["shifted"] == "rerun-upstream"
    assert stale_after == 0
    assert selected == "shifted"  # the selected task is highlighted in the DAG picture
    assert f"Because upstream scaled reruns: {SCALE_CHANGED}" in origin  # the full reason
    assert fed == "rerun-code"  # its tree agrees with the DAG picture
    assert hover == f"scaled: will rerun: code changed - {SCALE_CHANGED}"
    assert SCALE_CHANGED in diff
    assert (removed.strip(), added.strip()) == ("-2", "+3")
    assert source.startswith("minipipe.helpers:scale (stored source)")
    assert "def scale(x):" in source and "return x * SCALE" in source
    # `skipwise explain` on the DAG file prints the same change and diff (core's explanation).
    explained = explain(served, "scaled")
    assert f"• {SCALE_CHANGED}" in explained
    assert explained[-2:] == ["-2", "+3"]


def explain(served: Served, task_id: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-m", "skipwise.cli", "explain", task_id, "--target", "pipe.py"],
        cwd=served.project.folder,
        env={**served.env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return [line.rstrip() for line in result.stdout.splitlines()]


def test_the_tab_follows_airflows_dark_theme(served: Served, browser: object) -> None:
    edited_and_parsed(served)
    page = logged_in(browser, served)
    page.evaluate("localStorage.setItem('theme', 'dark')")
    frame = open_tab(page, served, task="scaled")
    page.wait_for_function("document.documentElement.classList.contains('dark')")
    frame.locator("details.change > summary").first.click()
    inside = frame.locator("html").get_attribute("class")
    background = frame.locator("body").evaluate("b => getComputedStyle(b).backgroundColor")
    svg_background = frame.locator("#graph rect.bg").evaluate("r => getComputedStyle(r).fill")
    shot(page, "tab-dark.png")
    # Airflow's theme switch changes its <html> class: the tab follows without a reload.
    page.evaluate("document.documentElement.classList.replace('dark', 'light')")
    page.wait_for_timeout(300)
    switched = frame.locator("html").get_attribute("class") or ""
    page.close()

    assert "dark" in inside
    assert background == "rgb(24, 24, 27)" and svg_background == "rgb(24, 24, 27)"
    assert "dark" not in switched


def test_airflows_grid_marks_reused_task_instances(served: Served, browser: object) -> None:
    status, runs = request(
        f"{served.base}/api/v2/dags/pipe/dagRuns?order_by=run_after", bearer=served.token
    )
    assert status == 200, runs
    first, second = (r["dag_run_id"] for r in runs["dag_runs"][:2])
    managed = {"numbers", "scaled", "labels", "shifted", "summary"}  # offset, report: plain
    for run_id, noted in ((first, set()), (second, managed)):
        query = urllib.parse.urlencode({"run_ids": run_id})  # a run id has "+" and ":"
        status, grid = request(
            f"{served.base}/ui/grid/ti_summaries/pipe?{query}", bearer=served.token
        )
        assert status == 200 and isinstance(grid, dict), grid  # one NDJSON line: one run
        marked = {ti["task_id"] for ti in grid["task_instances"] if ti["has_note"]}
        assert marked == noted

    page = logged_in(browser, served)
    page.goto(f"{served.base}/dags/pipe/runs/{second}/tasks/numbers", timeout=90_000)
    note = page.get_by_text(PREFIX).first
    note.wait_for(timeout=60_000)
    text = note.inner_text()
    shot(page, "grid-reuse-note.png")
    page.close()
    assert text.startswith(f"{PREFIX} the stored result ")
    assert "the task's code did not run" in text
