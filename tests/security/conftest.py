"""Fixtures for the attack suites: a signing client for a live server, and a server that
trusts no private address at all.

Every request goes to 127.0.0.1, with a timeout, so an attack that made the server hang
fails the test instead of stalling the suite.
"""

from __future__ import annotations

import http.server
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import cloudinary.utils
import httpx
import pytest
from support import LiveServer, start_server, stop_server, wait_until_healthy

from tests.security import hostile

TIMEOUT = 30.0  # seconds any one request may take; a hang is a failure


@dataclass(frozen=True)
class Attacker:
    """A client of one live server that holds its API key and can sign like the SDK."""

    server: LiveServer

    @property
    def upload_url(self) -> str:
        return f"{self.server.base_url}/v1_1/{self.server.cloud}/image/upload"

    def signed(self, **params: str) -> dict[str, str]:
        params = {"timestamp": str(int(time.time())), **params}
        signature = cloudinary.utils.api_sign_request(params, self.server.api_secret)
        return {**params, "signature": signature, "api_key": self.server.api_key}

    def upload(self, data: bytes | None = None, *, file: str | None = None, filename: str = "file", **params: str) -> httpx.Response:
        """A signed upload of `data` (a file part) or of `file` (a URL or data URI, unsigned as in the SDK)."""
        form: dict[str, Any] = self.signed(**params)
        files = None
        if data is not None:
            files = {"file": (filename, data, "application/octet-stream")}
        else:
            form["file"] = file or ""
        return httpx.post(self.upload_url, data=form, files=files, timeout=TIMEOUT)

    def get(self, path: str, **options: Any) -> httpx.Response:
        return httpx.get(f"{self.server.base_url}{path}", timeout=TIMEOUT, **options)

    def is_stored(self, public_id: str, resource_type: str = "image", type_: str = "upload") -> bool:
        """Whether the Admin API knows the asset."""
        response = httpx.get(
            f"{self.server.base_url}/v1_1/{self.server.cloud}/resources/{resource_type}/{type_}/{quote(public_id, safe='/')}",
            auth=(self.server.api_key, self.server.api_secret),
            timeout=TIMEOUT,
        )
        assert response.status_code in (200, 404), response.text
        return response.status_code == 200

    def spool_leftovers(self) -> list[str]:
        spool = self.server.data_dir / "spool"
        return sorted(path.name for path in spool.glob("*")) if spool.exists() else []


def assert_refused(response: httpx.Response, status: int | tuple[int, ...] = 400) -> str:
    """A 4xx in Cloudinary's error shape with a message a person can act on; returns it."""
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, f"{response.status_code}: {response.text[:300]}"
    message = response.json()["error"]["message"]
    assert isinstance(message, str) and 5 <= len(message) <= 500, message
    return str(message)


def unique(prefix: str) -> str:
    return f"sec/{prefix}-{secrets.token_hex(4)}"


@pytest.fixture
def attacker(sqlite_server: LiveServer) -> Attacker:
    """The shared SQLite server (its fetches may reach 127.0.0.1/32, as in every test server)."""
    return Attacker(sqlite_server)


@pytest.fixture(scope="session")
def closed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server with the default fetch policy: no private address is allowed at all."""
    data_dir = tmp_path_factory.mktemp("darkroom-closed")
    server = start_server(data_dir, f"sqlite:///{data_dir / 'darkroom.db'}", extra_env={"DARKROOM_FETCH_ALLOW": ""})
    try:
        wait_until_healthy(server.base_url, server.process)
        yield server
    finally:
        stop_server(server)


@pytest.fixture
def closed(closed_server: LiveServer) -> Attacker:
    return Attacker(closed_server)


@pytest.fixture(scope="session")
def small_png() -> bytes:
    return hostile.png_bomb(8, 8)  # a real 8×8 PNG, however it is named


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Serves a PNG at /ok.png, redirects by its table, and records every path asked for."""

    routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        self.seen.append(self.path)
        status, headers, body = self.routes.get(self.path, (404, {}, b"not here"))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@dataclass
class Origin:
    """An HTTP server on 127.0.0.1 the tests script: routes to answer, and what it was asked."""

    base_url: str
    routes: dict[str, tuple[int, dict[str, str], bytes]]
    seen: list[str]

    def redirect(self, path: str, location: str) -> str:
        self.routes[path] = (302, {"Location": location}, b"")
        return f"{self.base_url}{path}"


@pytest.fixture(scope="session")
def origin(small_png: bytes) -> Iterator[Origin]:
    handler = type("Handler", (_Recorder,), {"routes": {"/ok.png": (200, {"Content-Type": "image/png"}, small_png)}, "seen": []})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield Origin(f"http://127.0.0.1:{httpd.server_address[1]}", handler.routes, handler.seen)
    httpd.shutdown()
    httpd.server_close()

