"""Fixtures for the job tests: a webhook receiver on 127.0.0.1 and a server whose jobs retry fast."""

from __future__ import annotations

import http.server
import json
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import anyio
import cloudinary
import cloudinary.utils
import psycopg
import pytest
from api.conftest import sample_png  # noqa: F401 - the shared sample image, as a fixture here too
from support import LiveServer, configure_sdk, own_sqlite_server

from darkroom.media import tasks
from darkroom.media.services import Services

FAST_JOBS = {"DARKROOM_JOB_RETRY_SECONDS": "0.3", "DARKROOM_JOB_LEASE_SECONDS": "5"}


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: str

    @property
    def json(self) -> Any:
        return json.loads(self.body)


def assert_signed(delivery: Delivery) -> None:
    """The delivery is JSON whose signature the SDK's verify_notification_signature accepts,
    and would refuse had one byte of the body changed."""
    assert delivery.headers["content-type"] == "application/json"
    assert cloudinary.utils.verify_notification_signature(delivery.body, delivery.headers["x-cld-timestamp"], delivery.headers["x-cld-signature"])
    tampered = delivery.body.replace('"', "'", 1)
    assert not cloudinary.utils.verify_notification_signature(tampered, delivery.headers["x-cld-timestamp"], delivery.headers["x-cld-signature"])


@dataclass
class Receiver:
    """Records every POST; answers 500 to the first `failures[path]` posts to a path."""

    base_url: str
    deliveries: list[Delivery] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def wait_for(self, path: str, count: int = 1, timeout: float = 20.0) -> list[Delivery]:
        """The deliveries to `path`, once there are `count` of them (fails after `timeout`)."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                found = [d for d in self.deliveries if d.path == path]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"{len(found)} deliveries to {path} after {timeout}s, expected {count}")
                self.changed.wait(remaining)


@pytest.fixture(scope="session")
def receiver() -> Iterator[Receiver]:
    state = Receiver("")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
            body = self.rfile.read(int(self.headers.get("content-length", "0"))).decode()
            with state.changed:
                state.attempts[self.path] = state.attempts.get(self.path, 0) + 1
                failing = state.attempts[self.path] <= state.failures.get(self.path, 0)
                if not failing:
                    state.deliveries.append(Delivery(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                    state.changed.notify_all()
            self.send_response(500 if failing else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base_url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="session")
def jobs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A live server (SQLite, in-process job consumer) whose failed jobs retry within a second."""
    yield from own_sqlite_server(tmp_path_factory, "darkroom-jobs", extra_env=FAST_JOBS)


@pytest.fixture
def sdk(jobs_server: LiveServer) -> Iterator[LiveServer]:
    """The SDK configured for `jobs_server`."""
    configure_sdk(jobs_server)
    yield jobs_server
    cloudinary.reset_config()


@pytest.fixture(scope="module")
def own_postgres_url() -> Iterator[str]:
    """A PostgreSQL database for one test module: a journal no server of the session shares
    (their consumers would claim jobs whose handlers only the tests define)."""
    admin_dsn = os.environ.get("DARKROOM_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
    name = f"darkroom_jobs_{secrets.token_hex(4)}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{admin_dsn.rsplit('/', 1)[0].replace('postgresql://', 'postgresql+psycopg://')}/{name}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def consume_until(services: Services, done: Callable[[], bool], timeout: float = 20.0) -> None:
    """Run a consumer until `done()` holds (checked every 50 ms), then stop it."""

    async def main() -> None:
        stopping = anyio.Event()
        async with anyio.create_task_group() as group:
            group.start_soon(tasks.consume, services, stopping)
            with anyio.fail_after(timeout):
                while not done():
                    await anyio.sleep(0.05)
            stopping.set()

    anyio.run(main)
