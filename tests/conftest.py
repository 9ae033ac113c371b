"""Shared fixtures: real darkroom servers (SQLite and PostgreSQL) and the official SDK pointed at them.

`server` is parametrized over both databases, so every test that uses it runs against
each; `sqlite_server` is for tests whose subject does not depend on the database.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cloudinary
import httpx
import psycopg
import pytest

PG_ADMIN_DSN = os.environ.get("DARKROOM_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


@dataclass(frozen=True)
class LiveServer:
    base_url: str  # http://127.0.0.1:PORT
    host: str  # 127.0.0.1:PORT
    cloud: str
    api_key: str
    api_secret: str
    data_dir: Path
    database_url: str
    process: subprocess.Popen[bytes]

    @property
    def cloudinary_url(self) -> str:
        return f"cloudinary://{self.api_key}:{self.api_secret}@{self.cloud}?upload_prefix={self.base_url}&cname={self.host}"

    def env(self) -> dict[str, str]:
        return {**os.environ, "CLOUDINARY_URL": self.cloudinary_url}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_healthy(base_url: str, process: subprocess.Popen[bytes], timeout: float = 60.0, verify: bool | str = True) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"darkroom exited with {process.returncode}")
        try:
            if httpx.get(f"{base_url}/health", timeout=1.0, verify=verify).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("darkroom did not become healthy in time")


def start_server(data_dir: Path, database_url: str, *, cloud: str = "demo", extra_env: dict[str, str] | None = None, args: tuple[str, ...] = ()) -> LiveServer:
    port = free_port()
    api_key = str(100000000000000 + secrets.randbelow(10**14))
    api_secret = secrets.token_urlsafe(18)
    env = {
        **os.environ,
        "CLOUDINARY_URL": f"cloudinary://{api_key}:{api_secret}@{cloud}",
        "DARKROOM_DATABASE_URL": database_url,
        "DARKROOM_FETCH_ALLOW": "127.0.0.1/32",
        **(extra_env or {}),
    }
    log = (data_dir / "server.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "darkroom", "serve", "--port", str(port), "--data-dir", str(data_dir), "--log-level", "warning", *args],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    scheme = "https" if "--tls-cert" in args else "http"
    server = LiveServer(f"{scheme}://127.0.0.1:{port}", f"127.0.0.1:{port}", cloud, api_key, api_secret, data_dir, database_url, process)
    return server


def stop_server(server: LiveServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    name = f"darkroom_test_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    yield f"{base}/{name}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _running(server: LiveServer) -> Iterator[LiveServer]:
    try:
        wait_until_healthy(server.base_url, server.process)
        yield server
    finally:
        stop_server(server)


@pytest.fixture(scope="session")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("darkroom-sqlite")
    yield from _running(start_server(data_dir, f"sqlite:///{data_dir / 'darkroom.db'}"))


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory, postgres_url: str) -> Iterator[LiveServer]:
    yield from _running(start_server(tmp_path_factory.mktemp("darkroom-pg"), postgres_url))


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest) -> LiveServer:
    """A live darkroom, once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue(f"{request.param}_server")  # type: ignore[no-any-return]


def configure_sdk(server: LiveServer) -> None:
    """Point the official SDK at `server` the way an app would: CLOUDINARY_URL alone."""
    os.environ["CLOUDINARY_URL"] = server.cloudinary_url
    cloudinary.reset_config()


@pytest.fixture
def cld(server: LiveServer) -> Iterator[LiveServer]:
    """The SDK configured for `server` (both databases)."""
    configure_sdk(server)
    yield server
    os.environ.pop("CLOUDINARY_URL", None)
    cloudinary.reset_config()


@pytest.fixture
def cld_sqlite(sqlite_server: LiveServer) -> Iterator[LiveServer]:
    """The SDK configured for the SQLite server only."""
    configure_sdk(sqlite_server)
    yield sqlite_server
    os.environ.pop("CLOUDINARY_URL", None)
    cloudinary.reset_config()
