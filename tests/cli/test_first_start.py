"""The first five minutes: a fresh `darkroom serve` lets its operator in, and keeps secrets out of later logs."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from support import free_port, start_server, stop_server, wait_until_healthy


def _env_without_credentials() -> dict[str, str]:
    """The environment of an operator who has configured nothing: SQLite in the data folder."""
    return {k: v for k, v in os.environ.items() if k not in ("CLOUDINARY_URL", "DARKROOM_DATABASE_URL")}


@dataclass
class Served:
    process: subprocess.Popen[str]
    base_url: str
    lines: list[str] = field(default_factory=list)  # stdout, as printed so far

    @property
    def stdout(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def serve() -> Iterator:  # type: ignore[type-arg]
    """Start `darkroom serve` as an operator would, stdout captured; stopped after the test."""
    started: list[Served] = []

    def start(data_dir: Path) -> Served:
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "darkroom", "serve", "--port", str(port), "--data-dir", str(data_dir), "--log-level", "warning"],
            env=_env_without_credentials(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        served = Served(process, f"http://127.0.0.1:{port}")
        assert process.stdout is not None
        threading.Thread(target=lambda: served.lines.extend(line.rstrip("\n") for line in process.stdout), daemon=True).start()  # type: ignore[union-attr]
        started.append(served)
        wait_until_healthy(served.base_url, process)  # type: ignore[arg-type]
        deadline = time.monotonic() + 10  # the banner was printed before the server accepted connections
        while not any(line.startswith("console:") for line in served.lines) and time.monotonic() < deadline:
            time.sleep(0.05)
        return served

    yield start
    for served in started:
        served.process.terminate()
        served.process.wait(timeout=15)


def _sign_in(base_url: str, username: str, password: str) -> httpx.Client:
    """Sign in through the login form as a browser does: its CSRF token, its cookie, an Origin."""
    client = httpx.Client(base_url=base_url)
    form = client.get("/console/login")
    assert "darkroom users set-password" in form.text  # the page says how to reset a password
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token, form.text
    response = client.post(
        "/console/login",
        data={"username": username, "password": password, "csrf_token": token.group(1), "next": "/console"},
        headers={"Origin": base_url},
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/console"
    return client


def test_a_fresh_data_folder_prints_an_admin_password_once_and_it_signs_in(serve, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    first = serve(tmp_path)
    password = re.search(r"sign in as admin with password (\S+)", first.stdout)
    assert password, first.stdout
    assert f"console: {first.base_url}/console" in first.stdout

    client = _sign_in(first.base_url, "admin", password.group(1))
    console = client.get("/console")
    assert console.status_code == 200 and 'name="csrf-token"' in console.text  # signed in, not sent back to the form
    client.close()


def test_the_first_start_prints_a_working_key_and_later_starts_only_the_command_that_shows_it(serve, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    first = serve(tmp_path)
    url = re.search(r"^CLOUDINARY_URL=cloudinary://(\d+):([^@]+)@(\w+)\?upload_prefix=(\S+)&", first.stdout, re.MULTILINE)
    assert url, first.stdout
    api_key, api_secret, cloud, upload_prefix = url.groups()
    assert upload_prefix == first.base_url
    listing = httpx.get(f"{first.base_url}/v1_1/{cloud}/resources/image", auth=(api_key, api_secret))
    assert listing.status_code == 200, listing.text  # the printed secret is the real one
    password = re.search(r"with password (\S+)", first.stdout)
    assert password
    first.process.terminate()
    first.process.wait(timeout=15)

    second = serve(tmp_path)
    assert f"CLOUDINARY_URL=cloudinary://{api_key}:<secret: darkroom keys show {api_key} --data-dir {tmp_path}>@{cloud}?" in second.stdout
    assert api_secret not in second.stdout
    assert password.group(1) not in second.stdout and "password" not in second.stdout

    shown = subprocess.run(
        [sys.executable, "-m", "darkroom", "keys", "show", api_key, "--data-dir", str(tmp_path), "--server", second.base_url],
        env=_env_without_credentials(), capture_output=True, text=True,
    )
    assert shown.returncode == 0, shown.stderr
    assert f"CLOUDINARY_URL=cloudinary://{api_key}:{api_secret}@{cloud}?upload_prefix={second.base_url}&" in shown.stdout


def test_a_server_given_its_cloudinary_url_never_prints_that_secret(tmp_path: Path) -> None:
    server = start_server(tmp_path, f"sqlite:///{tmp_path / 'darkroom.db'}")
    try:
        wait_until_healthy(server.base_url, server.process)
        log = (tmp_path / "server.log").read_text()
    finally:
        stop_server(server)
    assert f"cloudinary://{server.api_key}:<secret: darkroom keys show {server.api_key} --data-dir {tmp_path}>@{server.cloud}?" in log
    assert server.api_secret not in log


def test_a_taken_port_is_reported_before_any_banner_and_nothing_is_created(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "darkroom", "serve", "--port", str(port), "--data-dir", str(tmp_path)],
            env=_env_without_credentials(), capture_output=True, text=True, timeout=60,
        )
    assert result.returncode != 0
    assert f"127.0.0.1:{port}" in result.stderr and "already in use" in result.stderr
    assert "--port" in result.stderr and "make run PORT=" in result.stderr  # how to choose another
    assert "serving on" not in result.stdout and "CLOUDINARY_URL" not in result.stdout and "password" not in result.stdout
    users = subprocess.run(
        [sys.executable, "-m", "darkroom", "users", "list", "--data-dir", str(tmp_path)],
        env=_env_without_credentials(), capture_output=True, text=True,
    )
    assert users.returncode == 0 and "admin" not in users.stdout  # the next start still gets its first password
