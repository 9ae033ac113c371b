"""Helpers for tests that run real darkroom servers (imported by conftest files and tests)."""

from __future__ import annotations

import contextlib
import http.server
import os
import secrets
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import cloudinary
import httpx
import imageio_ffmpeg


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


def wait_until_healthy(base_url: str, process: subprocess.Popen[bytes], timeout: float = 60.0, verify: bool | ssl.SSLContext = True) -> None:
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
        "DARKROOM_USAGE_FLUSH_SECONDS": "0.2",  # tests of usage() wait for delivery counts this long
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


# Chromium as the browser tests launch it: headless, quiet, and without the background traffic
# (updates, sync) that would show up among the requests a test records.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# What a test's web origin answers: (method, path with query, request body) -> (status, content type, body).
Answer = Callable[[str, str, bytes], tuple[int, str, bytes]]


@contextlib.contextmanager
def web_origin(answer: Answer) -> Iterator[str]:
    """Someone else's site on its own origin (an app page, a player's scripts) for a browser test;
    yields its base URL and stops it on exit."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            self._reply(*answer("GET", self.path, b""))

        def do_POST(self) -> None:  # noqa: N802
            self._reply(*answer("POST", self.path, self.rfile.read(int(self.headers.get("Content-Length") or 0))))

        def _reply(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def own_sqlite_server(tmp_path_factory: Any, name: str, **options: Any) -> Iterator[LiveServer]:
    """For a fixture: a live server on a SQLite database of its own, in a fresh folder, stopped
    when the fixture ends (for tests whose subject is the server itself: its memory, lock-outs)."""
    data_dir = tmp_path_factory.mktemp(name)
    server = start_server(data_dir, f"sqlite:///{data_dir / 'darkroom.db'}", **options)
    try:
        wait_until_healthy(server.base_url, server.process)
        yield server
    finally:
        stop_server(server)


def access_token(server: LiveServer, scope: str, label: str) -> str:
    """A bearer token of `scope` ("media", "sign") made in `server`'s database, as the CLI would."""
    from darkroom.catalog import create_engine_for
    from darkroom.media import sessions

    engine = create_engine_for(server.database_url)
    try:
        return sessions.create_access_token(engine, scope, label)[1]
    finally:
        engine.dispose()


def make_authenticated(server: LiveServer, public_id: str, resource_type: str = "image") -> None:
    """Set an `upload` asset's access_mode to authenticated through the Admin API (the Python
    SDK drops `access_mode`; the Node SDK sends it form-encoded, as here)."""
    reply = httpx.post(f"{server.base_url}/v1_1/{server.cloud}/resources/{resource_type}/upload/{public_id}",
                       data={"access_mode": "authenticated"}, auth=(server.api_key, server.api_secret))
    assert reply.status_code == 200 and reply.json()["access_mode"] == "authenticated", reply.text


def stop_server(server: LiveServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()


def configure_sdk(server: LiveServer) -> None:
    """Point the official SDK at `server` the way an app would: CLOUDINARY_URL alone."""
    os.environ["CLOUDINARY_URL"] = server.cloudinary_url
    cloudinary.reset_config()


@contextlib.contextmanager
def sdk_pointed_at(server: LiveServer) -> Iterator[LiveServer]:
    """`configure_sdk` for the block (a fixture's life), the SDK unconfigured again after it."""
    configure_sdk(server)
    try:
        yield server
    finally:
        os.environ.pop("CLOUDINARY_URL", None)
        cloudinary.reset_config()


# ---- an S3-compatible server: moto in server mode, a separate process on loopback ----

MOTO_KEY = "testing-key"
MOTO_SECRET = "testing-secret"


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("moto server did not start")


def start_moto(log_path: Path) -> tuple[str, subprocess.Popen[bytes]]:
    """Start moto's S3 server on a free loopback port; returns (endpoint, process)."""
    port = free_port()
    log = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "AWS_ACCESS_KEY_ID": MOTO_KEY, "AWS_SECRET_ACCESS_KEY": MOTO_SECRET},
    )
    wait_for_port(port, process)
    return f"http://127.0.0.1:{port}", process


def s3_url(endpoint: str, bucket: str) -> str:
    return (
        f"s3://{bucket}?endpoint={endpoint}&region=us-east-1"
        f"&access_key_id={MOTO_KEY}&secret_access_key={MOTO_SECRET}"
    )


def make_bucket(endpoint: str) -> str:
    """A fresh bucket per test, so tests cannot see each other's blobs."""
    bucket = f"test-{uuid.uuid4().hex[:12]}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=MOTO_KEY,
        aws_secret_access_key=MOTO_SECRET,
    )
    client.create_bucket(Bucket=bucket)
    return bucket


# ---- media made at test time with the ffmpeg imageio-ffmpeg ships ----


def ffmpeg(out: Path, *args: str) -> Path:
    """Run ffmpeg with `args`, writing `out` (overwritten); returns `out`."""
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", *args, str(out)], check=True, timeout=60)
    return out


def lavfi_sources(size: str = "320x240", seconds: float = 2) -> list[str]:
    """ffmpeg inputs for a test video (`testsrc`, 25 fps) and a 440 Hz tone of the same length."""
    return ["-f", "lavfi", "-i", f"testsrc=size={size}:rate=25:duration={seconds}", "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}:sample_rate=48000"]
