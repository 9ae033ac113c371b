"""Fixtures for the console tests: an in-process app with one operator, and sample images."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from darkroom.server import build_services, create_app
from darkroom.media import sessions
from darkroom.config import Settings, parse_cloudinary_url
from tests.media_store.asgi_client import TestClient

BASE = "http://darkroom.test"
USER = "ada"
PASSWORD = "analytical-engine-1843"


@dataclass
class Console:
    client: TestClient
    user: str  # the operator's name (unique, since PostgreSQL runs share one database)
    cloud: str
    api_key: str

    @property
    def engine(self):  # type: ignore[no-untyped-def]
        return self.client.app.state.services.engine

    def login_token(self) -> str:
        page = self.client.get("/console/login").text
        match = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert match, page
        return match.group(1)

    def sign_in(self, username: str | None = None, password: str = PASSWORD):  # type: ignore[no-untyped-def]
        username = username or self.user
        token = self.login_token()
        return self.client.post("/console/login", data={"username": username, "password": password, "csrf_token": token, "next": "/console"})

    def csrf(self) -> str:
        match = re.search(r'<meta name="csrf-token" content="([^"]+)"', self.client.get("/console").text)
        assert match
        return match.group(1)


@pytest.fixture(params=["sqlite", "postgres"])
def console(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Console]:
    """An app with one operator, on SQLite and on PostgreSQL (a cloud and user of its own there)."""
    database = f"sqlite:///{tmp_path / 'darkroom.db'}" if request.param == "sqlite" else str(request.getfixturevalue("postgres_url"))
    suffix = secrets.token_hex(4)
    cloud, user, api_key = f"demo{suffix}", f"{USER}{suffix}", str(10**14 + secrets.randbelow(10**14))
    settings = Settings(data_dir=tmp_path, database_url=database,
                        cloudinary_url=parse_cloudinary_url(f"cloudinary://{api_key}:topsecret@{cloud}"))
    services = build_services(settings)
    sessions.create_user(services.engine, user, PASSWORD)
    client = TestClient(create_app(settings, services), base_url=BASE)
    yield Console(client, user, cloud, api_key)
    client.close()
    services.engine.dispose()
