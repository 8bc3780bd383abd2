"""Local servers for store tests and benchmarks, each stopped by its own PID."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=test"


@contextlib.contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    """A new PostgreSQL database named ``prefix`` + a random suffix, dropped afterwards."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def aws_environment(endpoint: str) -> dict[str, str]:
    """Standard AWS configuration for a moto server at ``endpoint`` (what a user would set)."""
    return {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
    }


@contextlib.contextmanager
def moto_server(**env: str) -> Iterator[str]:
    """``python -m moto.server`` on a free port; stopped by its own PID."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto server on port {port} did not start") from None
                time.sleep(0.1)
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Proxy:
    """A TCP proxy on 127.0.0.1 in front of ``target`` (host, port), for cutting connections
    the way a network does. While ``cut_after(up=..., down=...)`` is set, every connection is
    dropped (both sides closed) once that many bytes went to the server (up) or back (down).
    Used as a context manager; each connection runs in two daemon threads."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.limits: dict[str, int | None] = {"up": None, "down": None}
        self.cuts = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    def cut_after(self, *, up: int | None = None, down: int | None = None) -> None:
        self.limits = {"up": up, "down": down}

    def heal(self) -> None:
        self.limits = {"up": None, "down": None}

    def __enter__(self) -> Proxy:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._listener.close()
        with self._lock:
            for sock in self._open:
                _close(sock)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            try:
                server = socket.create_connection(self.target)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._open.update((client, server))
            pair = (client, server)
            threading.Thread(target=self._pump, args=(*pair, "up", pair), daemon=True).start()
            threading.Thread(
                target=self._pump, args=(server, client, "down", pair), daemon=True
            ).start()

    def _pump(self, source: socket.socket, sink: socket.socket, way: str, pair: tuple) -> None:
        sent = 0
        try:
            while chunk := source.recv(65536):
                limit = self.limits[way]
                if limit is not None and sent + len(chunk) > limit:
                    sink.sendall(chunk[: max(limit - sent, 0)])
                    self.cuts += 1
                    break
                sink.sendall(chunk)
                sent += len(chunk)
        except OSError:
            pass
        for sock in pair:
            _close(sock)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
