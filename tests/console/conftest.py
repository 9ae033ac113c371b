"""Fixtures for the console tests: an in-process app with one operator, and sample images."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from darkroom.api.app import build_services, create_app
from darkroom.auth import sessions
from darkroom.config import Settings, parse_cloudinary_url
from tests.media_store.asgi_client import TestClient

BASE = "http://darkroom.test"
USER = "ada"
PASSWORD = "analytical-engine-1843"


@dataclass
class Console:
    client: TestClient

    @property
    def engine(self):  # type: ignore[no-untyped-def]
        return self.client.app.state.services.engine

    def login_token(self) -> str:
        page = self.client.get("/console/login").text
        match = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert match, page
        return match.group(1)

    def sign_in(self, username: str = USER, password: str = PASSWORD):  # type: ignore[no-untyped-def]
        token = self.login_token()
        return self.client.post("/console/login", data={"username": username, "password": password, "csrf_token": token, "next": "/console"})

    def csrf(self) -> str:
        match = re.search(r'<meta name="csrf-token" content="([^"]+)"', self.client.get("/console").text)
        assert match
        return match.group(1)


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    settings = Settings(data_dir=tmp_path, cloudinary_url=parse_cloudinary_url("cloudinary://123456789012345:topsecret@demo"))
    services = build_services(settings)
    sessions.create_user(services.engine, USER, PASSWORD)
    client = TestClient(create_app(settings, services), base_url=BASE)
    yield Console(client)
    client.close()
    services.engine.dispose()
