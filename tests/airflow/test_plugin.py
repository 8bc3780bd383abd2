"""The Signatures plugin in a real ``airflow api-server`` on 127.0.0.1: routes, permissions, the
tab in headless Chromium (Debian's), and ``skipwise plan`` on the same DAG file.

The DAG ran once, then a helper changed and a task was added, and the DAG was re-serialized:
the tab must predict the next run without importing the DAG file. The screenshot goes to
``test-output/airflow/signatures-tab.png`` at the repository root (git-ignored).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.airflow.conftest import PROJECT, ROOT, USERS, Project, new_home, write_project
from tests.airflow.servers import AIRFLOW, api_server, request, token

SCREENSHOT = ROOT / "test-output" / "airflow" / "signatures-tab.png"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
EXPECTED = {
    "numbers": "reuse",
    "scaled": "rerun-code",
    "labels": "reuse",
    "offset": "unmanaged",
    "shifted": "rerun-upstream",
    "summary": "rerun-upstream",
    "report": "unmanaged",
    "more_numbers": "new",
}
SCALE_CHANGED = "dependency minipipe.helpers:SCALE changed (via minipipe.helpers:scale)"


# The DAG's first run, in a process of the module's own Airflow home.
FIRST_RUN = """
import importlib.util, sys
from pathlib import Path
from airflow.sdk import DAG

dags = Path(sys.argv[1])
sys.path.insert(0, str(dags))
spec = importlib.util.spec_from_file_location("pipe", dags / "pipe.py")
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
dag = next(value for value in vars(module).values() if isinstance(value, DAG))
assert dag.test().state == "success"
"""


@dataclass(frozen=True)
class Served:
    base: str
    store: Path
    token: str
    env: dict[str, str]
    dags: Path

    def get(self, path: str, bearer: str | None = None) -> tuple[int, object]:
        return request(f"{self.base}/skipwise{path}", bearer=bearer)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """An api-server on an Airflow home of this module's own (other tests in this process
    change theirs between these tests), after the DAG ran, a helper changed and a task was
    added, and ``airflow dags reserialize`` ran."""
    folder = tmp_path_factory.mktemp("tab")
    store = folder / "store"
    env = {
        **os.environ,
        **new_home(folder / "home"),
        "SKIPWISE_STORE": str(store),
        "MINIPIPE_CALLS": str(folder / "calls.log"),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    dags = folder / "home" / "dags"
    write_project(PROJECT, dags)
    run([sys.executable, "-c", FIRST_RUN, str(dags)], env)
    project = Project(folder / "calls.log", dags)
    project.edit("minipipe/helpers.py", "SCALE = 2", "SCALE = 3")
    project.edit(
        "pipe.py",
        "# (new tasks go here)",
        'task.skipwise(steps.numbers, task_id="more_numbers")(n=5)',
    )
    run([AIRFLOW, "dags", "reserialize"], env)
    # The API server gets an empty DAGs folder: it could not import the DAG's code if it tried.
    empty = folder / "no-dags"
    empty.mkdir()
    with api_server(**{**env, "AIRFLOW__CORE__DAGS_FOLDER": str(empty)}) as base:
        yield Served(base, store, token(base), env, dags)


def run(command: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_the_route_returns_each_tasks_status(served: Served) -> None:
    status, view = served.get("/api/dags/pipe", bearer=served.token)
    assert status == 200, view
    assert {t["task_id"]: t["status"] for t in view["tasks"]} == EXPECTED
    tasks = {t["task_id"]: t for t in view["tasks"]}
    assert tasks["scaled"]["cause"] == SCALE_CHANGED
    assert tasks["shifted"]["cause"] == "upstream pipe.scaled will rerun"
    assert tasks["scaled"]["last_run"]["status"] == "computed"
    assert tasks["offset"]["name"] is None
    assert view["store"] == str(served.store)
    assert view["warning"] is None  # the runs used the store the API server reads
    assert view["instance"] == "(unnamed)"  # the pipeline instance of the latest run
    assert tasks["scaled"]["last_run"]["instance"] == ""

    status, task = served.get("/api/dags/pipe/tasks/scaled", bearer=served.token)
    assert status == 200, task
    assert [c["text"] for c in task["changes"]] == [SCALE_CHANGED]
    changed = {k for k, node in task["tree"]["code"]["nodes"].items() if node["changed"]}
    assert changed == {"minipipe.helpers:SCALE"}
    assert task["tree"]["arguments"]["numbers"]["upstream"]
    assert 'data-id="minipipe.helpers:SCALE" data-status="changed"' in task["picture"]


def test_skipwise_plan_on_the_dag_file_agrees_with_the_tab(served: Served) -> None:
    def plan(fmt: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "skipwise.cli", "plan", "pipe.py", "-f", fmt],
            cwd=served.dags,
            env=served.env,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    items = json.loads(plan("json"))["items"]
    assert {i["label"]: i["status"] for i in items} == EXPECTED
    markdown = plan("markdown")
    assert markdown.startswith("### skipwise plan: `pipe.py`\n")
    assert f"| `scaled` | **rerun** | {SCALE_CHANGED} |" in markdown
    assert "| `offset` | not managed | not managed by skipwise |" in markdown
    assert "| `more_numbers` | **new** |" in markdown


def test_routes_need_read_permission_on_the_dag(served: Served) -> None:
    for path in ("/api/dags/pipe", "/api/dags/pipe/tasks/scaled", "/dags/pipe/view"):
        assert served.get(path)[0] == 401  # no token
        assert served.get(path, bearer="not-a-token")[0] == 403
        assert served.get(path, bearer=token(served.base, "viewer"))[0] == 200
    status, page = request(f"{served.base}/skipwise/dags/pipe/view", cookie=served.token)
    assert status == 200  # the UI's cookie, as the tab's iframe sends it
    for fetch in ("<script src", "<link", "<img", "@import", "url(http"):  # nothing fetched
        assert fetch not in page
    assert served.get("/api/dags/nope", bearer=served.token)[0] == 404
    assert served.get("/api/dags/pipe/tasks/nope", bearer=served.token)[0] == 404


def test_the_signatures_tab_in_chromium(served: Served) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            headless=True,
        )
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1100})
            page.goto(f"{served.base}/", wait_until="networkidle", timeout=90_000)
            page.fill("input[name=username]", "admin")
            page.fill("input[name=password]", USERS["admin"][1])
            page.click("button[type=submit]")
            page.wait_for_url(lambda url: "/auth/" not in url, timeout=60_000)

            page.goto(f"{served.base}/dags/pipe/plugin/signatures", timeout=90_000)
            frame = page.frame_locator("iframe")
            frame.locator("#tasks").wait_for(timeout=60_000)
            rows = frame.locator("tr[data-task]")
            shown = {
                rows.nth(i).get_attribute("data-task"): rows.nth(i).get_attribute("data-status")
                for i in range(rows.count())
            }
            nodes = frame.locator("#graph g.node")
            drawn = {
                nodes.nth(i).get_attribute("data-id"): nodes.nth(i).get_attribute("data-status")
                for i in range(nodes.count())
            }
            frame.locator('#graph g.node[data-id="scaled"]').click()  # select a task
            frame.locator("#changes").wait_for(timeout=30_000)
            changes = frame.locator("#changes").inner_text()
            changed_node = frame.locator('#tree g.node[data-id="minipipe.helpers:SCALE"]')
            tree_status = changed_node.get_attribute("data-status")
            frame.locator("#task").scroll_into_view_if_needed()
            page.wait_for_timeout(300)
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)

            page.goto(
                f"{served.base}/dags/pipe/tasks/labels/plugin/task-signatures", timeout=90_000
            )
            task_frame = page.frame_locator("iframe")
            task_frame.locator("#task").wait_for(timeout=60_000)
            task_title = task_frame.locator("#task").inner_text()
        finally:
            browser.close()
    assert shown == EXPECTED
    assert drawn == EXPECTED
    assert SCALE_CHANGED in changes
    assert tree_status == "changed"  # the signature tree's picture marks what changed
    assert task_title == "Task labels"
    assert SCREENSHOT.stat().st_size > 20_000


def test_workers_load_the_plugin_without_the_api_server(tmp_path: Path) -> None:
    """Task workers load plugins through the Task SDK: the FastAPI app is not imported."""
    script = """
import sys
from airflow.sdk import plugins_manager
plugins_manager.integrate_macros_plugins()
plugins, errors = plugins_manager._get_plugins()
assert "skipwise" in [p.name for p in plugins], plugins
assert not errors, errors
loaded = [m for m in ("skipwise.airflow.api", "airflow.api_fastapi.core_api.security") if m in sys.modules]
assert not loaded, loaded
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")
