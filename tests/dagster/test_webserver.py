"""The real dagster-webserver on 127.0.0.1 serving dags/taxi_dagster.py: reused/computed
metadata and data versions over GraphQL, and the signature graph in headless Chromium.

The screenshot is written to ``test-output/dagster/asset-graph.png`` at the repository root
(git-ignored)."""

from __future__ import annotations

import base64
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

import dagster as dg
import pytest

import skipwise.dagster as sd
from tests.dagster.conftest import DAGSTER_YAML

ROOT = Path(__file__).resolve().parents[2]
DAGS = ROOT / "dags"
SCREENSHOT = ROOT / "test-output" / "dagster" / "asset-graph.png"
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
    port = free_port()
    log = tmp_path / "webserver.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [Path(sys.executable).parent / "dagster-webserver", "-f", DAGS / "taxi_dagster.py",
             "-d", DAGS, "-h", "127.0.0.1", "-p", str(port)],
            env={**os.environ, "DAGSTER_HOME": str(home), "SKIPWISE_STORE": str(store)},
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_served(url, process, log)
        yield url
    finally:
        stop_group(process)


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

    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"], headless=True
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{served}/assets/taxi/cleaned", wait_until="networkidle", timeout=90_000)
            row = page.locator("tr", has_text="skipwise/graph").first
            row.wait_for(timeout=90_000)
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
        finally:
            browser.close()
    assert 'data-id="arg:trips" data-status="changed"' in svg  # the upstream that changed
    assert 'data-id="taxi.steps:clean" data-status="changed"' in svg
    assert 'data-id="taxi.helpers:is_valid_trip" data-status="unchanged"' in svg
    assert SCREENSHOT.stat().st_size > 20_000
