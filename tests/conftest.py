"""Shared fixtures: real darkroom servers (SQLite and PostgreSQL) and the official SDK pointed at them.

`server` is parametrized over both databases, so every test that uses it runs against
each; `sqlite_server` is for tests whose subject does not depend on the database.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import psycopg
import pytest
from support import LiveServer, sdk_pointed_at, start_moto, start_server, stop_server, wait_until_healthy

PG_ADMIN_DSN = os.environ.get("DARKROOM_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


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


@pytest.fixture
def cld(server: LiveServer) -> Iterator[LiveServer]:
    """The SDK configured for `server` (both databases)."""
    with sdk_pointed_at(server):
        yield server


@pytest.fixture
def cld_sqlite(sqlite_server: LiveServer) -> Iterator[LiveServer]:
    """The SDK configured for the SQLite server only."""
    with sdk_pointed_at(sqlite_server):
        yield sqlite_server


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real S3 API over HTTP on loopback (moto's server mode in its own process)."""
    endpoint, process = start_moto(tmp_path_factory.mktemp("moto") / "moto.log")
    try:
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)
