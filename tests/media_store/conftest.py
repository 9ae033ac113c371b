"""In-process apps for the media-store tests, one per configuration the test asks for."""

from __future__ import annotations

import io
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pyvips

from darkroom.server import build_services, create_app
from darkroom.media import sessions
from darkroom.config import Settings, parse_cloudinary_url
from tests.media_store.asgi_client import TestClient

BASE = "http://darkroom.test"


@dataclass(frozen=True)
class StoreSettings(Settings):
    """Settings plus the media store's own slice (read with getattr by the store)."""

    media_store_path: str = ""
    media_store_auth: str = ""
    media_store_cors_origins: str = ""


@dataclass
class Store:
    client: TestClient
    settings: StoreSettings
    token: str  # a valid `media` bearer token

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def engine(self):  # type: ignore[no-untyped-def]
        return self.client.app.state.services.engine

    @property
    def cloud(self) -> str:
        assert self.settings.cloudinary_url is not None
        return self.settings.cloudinary_url.cloud_name


def png_bytes(width: int = 64, height: int = 48) -> bytes:
    image = pyvips.Image.xyz(width, height)[0].cast("uchar")
    return bytes(image.bandjoin([image, image]).write_to_buffer(".png"))


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test runs on SQLite and on PostgreSQL (one shared database, a cloud of its own per app)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'darkroom.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def make_store(tmp_path: Path, database: str) -> Iterator[Callable[..., Store]]:
    clients: list[TestClient] = []

    def make(**config: str) -> Store:
        data_dir = tmp_path / f"store{len(clients)}"
        cloud = f"c{secrets.token_hex(5)}"  # apps sharing the PostgreSQL database never see each other's assets
        settings = StoreSettings(
            data_dir=data_dir,
            database_url=database,
            cloudinary_url=parse_cloudinary_url(f"cloudinary://{secrets.randbelow(10**14) + 10**14}:topsecret@{cloud}"),
            public_url=BASE,
            **config,
        )
        services = build_services(settings)
        client = TestClient(create_app(settings, services), base_url=BASE)
        clients.append(client)
        _, token = sessions.create_access_token(services.engine, "media", "tests")
        return Store(client, settings, token)

    yield make
    for client in clients:
        client.close()
        client.app.state.services.engine.dispose()


@pytest.fixture
def store(make_store: Callable[..., Store]) -> Store:
    return make_store()


def upload(store: Store, directory: str, name: str = "sample.png", data: bytes | None = None, content_type: str = "image/png"):  # type: ignore[no-untyped-def]
    """POST as the TinaCMS store does: parts file, directory, filename."""
    files = {"file": (name, io.BytesIO(data if data is not None else png_bytes()), content_type)}
    return store.client.post("/api/cloudinary/media", files=files, data={"directory": directory, "filename": name}, headers=store.auth)
