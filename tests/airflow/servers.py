"""Airflow's own servers on this test process's home: ``airflow api-server`` on 127.0.0.1 and
``airflow scheduler``, each started in its own process group and stopped by its PID."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from tests.airflow.conftest import HOME, USERS
from tests.stores.servers import free_port

AIRFLOW = str(Path(sys.executable).parent / "airflow")


def server_env(base_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "AIRFLOW__API__BASE_URL": base_url,
        # Task workers report to the API server's execution API.
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base_url}/execution/",
        **extra,
    }


@contextlib.contextmanager
def started(args: list[str], env: Mapping[str, str], log: Path) -> Iterator[subprocess.Popen]:
    with log.open("w") as out:
        process = subprocess.Popen(
            [AIRFLOW, *args], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen) -> None:
    """SIGTERM to the process group we started (the server and its workers), then SIGKILL
    whatever is left of it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


@contextlib.contextmanager
def api_server(**extra_env: str) -> Iterator[str]:
    """The API server (UI, REST API, execution API and plugins); yields its base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = server_env(base, **extra_env)
    args = ["api-server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    log = HOME / f"api-server-{port}.log"
    with started(args, env, log) as process:
        deadline = time.monotonic() + 180
        while request(f"{base}/api/v2/monitor/health")[0] != 200:
            assert process.poll() is None, f"api-server exited:\n{log.read_text()[-5000:]}"
            assert time.monotonic() < deadline, f"api-server not healthy:\n{log.read_text()}"
            time.sleep(0.3)
        yield base


def token(base: str, user: str = "admin") -> str:
    _, password = USERS[user]
    status, body = request(
        f"{base}/auth/token", method="POST", body={"username": user, "password": password}
    )
    assert status == 201, body
    return body["access_token"]


def request(
    url: str,
    *,
    method: str = "GET",
    body: object = None,
    bearer: str | None = None,
    cookie: str | None = None,
) -> tuple[int, Any]:
    """(status, JSON or text); never raises on an HTTP error status."""
    headers = {"Content-Type": "application/json"}
    if bearer:
        headers["Authorization"] = f"Bearer {bearer}"
    if cookie:
        headers["Cookie"] = f"_token={cookie}"
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    except OSError:
        return 0, ""
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")
