"""The real dagster-webserver on 127.0.0.1 serving dags/taxi_dagster.py: reused/computed
metadata and data versions over GraphQL, the signature graph, and after a helper edit the
asset graph with the ``skipwise_up_to_date`` checks, in headless Chromium.

Screenshots are written to ``test-output/dagster/`` at the repository root (git-ignored)."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

import skipwise.dagster as sd
from tests.dagster.conftest import DAGSTER_YAML

ROOT = Path(__file__).resolve().parents[2]
DAGS = ROOT / "dags"
SHOTS = ROOT / "test-output" / "dagster"
SCREENSHOT = SHOTS / "asset-graph.png"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
STEPS = ["trips", "cleaned", "fare_features", "time_features", "model", "metrics"]

ASSET_QUERY = """
query Asset($key: AssetKeyInput!) {
  assetOrError(assetKey: $key) {
    ... on Asset {
      assetMaterializations(limit: 1) {
        tags { key value }
        metadataEntries {
          label
          ... on TextMetadataEntry { text }
          ... on MarkdownMetadataEntry { mdStr }
        }
      }
      definition { opVersion dataVersion staleStatus }
    }
  }
}
"""


def graphql(url: str, query: str, variables: dict | None = None) -> dict:
    request = urllib.request.Request(
        url + "/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.loads(response.read())
    assert "errors" not in body, body
    return body["data"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_served(url: str, process: subprocess.Popen, log: Path) -> None:
    """/server_info answers before the code location has loaded: wait for both."""
    deadline = time.monotonic() + 180
    query = "{ workspaceOrError { ... on Workspace { locationEntries { loadStatus } } } }"
    while time.monotonic() < deadline:
        assert process.poll() is None, f"webserver exited:\n{log.read_text()}"
        try:
            entries = graphql(url, query)["workspaceOrError"]["locationEntries"]
            if entries and all(e["loadStatus"] == "LOADED" for e in entries):
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"webserver not ready:\n{log.read_text()}")


def stop_group(process: subprocess.Popen) -> None:
    """The webserver's gRPC code server outlives it: end the whole group we started."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Materialize the taxi assets twice (the second time with more trips, so every asset
    recomputes with a highlighted change), then serve them."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(DAGSTER_YAML)
    store = tmp_path / "store"
    monkeypatch.syspath_prepend(str(DAGS))
    import taxi_dagster

    with dg.DagsterInstance.from_config(str(home)) as instance:
        for n_trips in (1_000, 1_500):
            assert dg.materialize(
                taxi_dagster.assets,
                instance=instance,
                resources={"io_manager": sd.SkipwiseIOManager(store=str(store))},
                run_config={"ops": {"taxi__trips": {"config": {"n_trips": n_trips}}}},
            ).success
    with serve(DAGS, home, store, tmp_path / "webserver.log") as url:
        yield url


@contextlib.contextmanager
def serve(folder: Path, home: Path, store: Path, log: Path) -> Iterator[str]:
    """dagster-webserver on ``folder/taxi_dagster.py``, on a free port, stopped by its group."""
    port = free_port()
    with log.open("w") as out:
        process = subprocess.Popen(
            [Path(sys.executable).parent / "dagster-webserver", "-f", folder / "taxi_dagster.py",
             "-d", folder, "-h", "127.0.0.1", "-p", str(port)],
            env={**os.environ, "DAGSTER_HOME": str(home), "SKIPWISE_STORE": str(store)},
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_served(url, process, log)
        yield url
    finally:
        stop_group(process)


@contextlib.contextmanager
def browser_page(width: int = 1400, height: int = 1000) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"], headless=True
        )
        try:
            yield browser.new_page(viewport={"width": width, "height": height})
        finally:
            browser.close()


def test_webserver_shows_signatures_and_the_graph(served: str) -> None:
    import taxi_dagster

    for step in STEPS:
        data = graphql(served, ASSET_QUERY, {"key": {"path": ["taxi", step]}})["assetOrError"]
        [materialization] = data["assetMaterializations"]
        metadata = {
            e["label"]: e.get("text") or e.get("mdStr") for e in materialization["metadataEntries"]
        }
        tags = {t["key"]: t["value"] for t in materialization["tags"]}
        assert metadata["skipwise/status"] == "computed"
        assert "changed" in metadata["skipwise/reason"]
        assert metadata["skipwise/graph"].count("data:image/svg+xml;base64,") == 1
        signature = metadata["skipwise/signature"]
        assert tags["dagster/data_version"] == signature == data["definition"]["dataVersion"]
        asset = getattr(taxi_dagster, step)
        assert data["definition"]["opVersion"] == asset.code_versions_by_key[asset.key]
        assert data["definition"]["staleStatus"] == "FRESH"

    with browser_page() as page:
        page.goto(f"{served}/assets/taxi/cleaned", wait_until="networkidle", timeout=90_000)
        row = page.locator("tr", has_text="skipwise/graph").first
        row.wait_for(timeout=90_000)
        # A short diff (here: no source changed, an upstream did) reads in the table itself.
        diff_row = page.locator("tr", has_text="skipwise/diff")
        diff_row.get_by_text("upstream result passed as 'trips' changed").first.wait_for(
            timeout=30_000
        )
        # Values over 1000 characters sit behind a link that opens them in a dialog.
        row.get_by_text("[Show Markdown]").click()
        image = page.get_by_role("dialog").locator('img[src^="data:image/svg+xml;base64,"]')
        image.wait_for(timeout=30_000)
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
        )
        page.wait_for_timeout(800)  # the dialog fades in
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT))
        svg = base64.b64decode(image.get_attribute("src").split(",", 1)[1]).decode()
    assert 'data-id="arg:trips" data-status="changed"' in svg  # the upstream that changed
    assert 'data-id="taxi.steps:clean" data-status="changed"' in svg
    assert 'data-id="taxi.helpers:is_valid_trip" data-status="unchanged"' in svg
    assert SCREENSHOT.stat().st_size > 20_000


# The assets run in their own processes, on a copy of the example that the test edits.
RUN = """
import sys
import dagster as dg
import taxi_dagster as taxi

with dg.DagsterInstance.get() as instance:
    checks_only = dg.AssetSelection.all_asset_checks() if sys.argv[1] == "checks" else None
    assert dg.materialize(
        [*taxi.assets, taxi.up_to_date],
        instance=instance,
        resources=taxi.resources,
        selection=checks_only,
    ).success
"""
EDIT = (
    "evening = hour.between(EVENING_RUSH[0], EVENING_RUSH[1] - 1)",
    "evening = hour.between(EVENING_RUSH[0], EVENING_RUSH[1])",
)
FAILING = {"time_features", "model", "metrics"}


@pytest.fixture
def edited(tmp_path: Path) -> Iterator[str]:
    """The taxi assets materialized, a helper of ``time_features`` edited, and the checks
    executed (running no asset), then served."""
    folder = tmp_path / "dags"
    shutil.copytree(DAGS / "taxi", folder / "taxi", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(DAGS / "taxi_dagster.py", folder)
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(DAGSTER_YAML)
    store = tmp_path / "store"
    env = {**os.environ, "DAGSTER_HOME": str(home), "SKIPWISE_STORE": str(store),
           "PYTHONPATH": str(folder), "PYTHONDONTWRITEBYTECODE": "1"}  # fmt: skip
    for edit, what in ((None, "all"), (EDIT, "checks")):
        if edit:
            helpers = folder / "taxi" / "helpers.py"
            helpers.write_text(helpers.read_text().replace(*edit))
        done = subprocess.run(
            [sys.executable, "-c", RUN, what], cwd=folder, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr[-5000:]
    with serve(folder, home, store, tmp_path / "webserver.log") as url:
        yield url


def test_asset_graph_shows_which_assets_will_rerun(edited: str) -> None:
    """Dagster marks only the edited asset Unsynced; the checks mark it and everything
    downstream that will rerun, with the reason and the source diff."""
    with browser_page(1900, 800) as page:
        page.goto(f"{edited}/asset-groups/taxi", wait_until="networkidle", timeout=90_000)
        page.get_by_text("Hide navigation").click()
        page.locator("button", has=page.locator('[aria-label="panel_show_right"]')).first.click()
        page.locator("foreignObject", has_text="metrics").first.wait_for(timeout=60_000)
        page.wait_for_timeout(1000)  # the graph fits itself to the view
        checks = page.locator('a[href^="/assets/taxi/"][href$="?view=checks"]')
        zoom_in = page.locator("button", has=page.locator('[aria-label="zoom_in"]')).first
        for _ in range(6):  # zoomed out, nodes show their names only
            if checks.count() == len(STEPS):
                break
            zoom_in.click()
            page.wait_for_timeout(1000)
        shown = {
            link.get_attribute("href").split("/")[-1].split("?")[0]: link.inner_text()
            for link in checks.all()
        }
        assert shown == {
            step: "0 / 1 Passed" if step in FAILING else "1 / 1 Passed" for step in STEPS
        }
        assert page.get_by_text("Unsynced").count() == 1  # Dagster's own mark: one asset
        page.wait_for_timeout(500)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "asset-checks.png"))

        page.goto(f"{edited}/assets/taxi/model?view=checks", wait_until="networkidle")
        page.get_by_text("Evaluation result").first.wait_for(timeout=60_000)
        # The check's description (rendered after the evaluation's table).
        described = page.get_by_text("reruns unless its upstream").first
        described.wait_for(timeout=30_000)
        assert described.inner_text().endswith("unchanged: upstream taxi.time_features will rerun")
        page.locator("tr", has_text="skipwise/diff").get_by_text("[Show Markdown]").click()
        dialog = page.get_by_role("dialog")
        dialog.locator("code").first.wait_for(timeout=30_000)
        page.wait_for_timeout(800)  # the dialog fades in
        page.screenshot(path=str(SHOTS / "check-diff.png"))
        text = dialog.inner_text()
    assert "because taxi/time_features: dependency taxi.helpers:is_rush_hour changed" in text
    assert "--- taxi.helpers:is_rush_hour (stored)" in text
    assert f"-    {EDIT[0]}" in text and f"+    {EDIT[1]}" in text
    for shot in ("asset-checks.png", "check-diff.png"):
        assert (SHOTS / shot).stat().st_size > 20_000
