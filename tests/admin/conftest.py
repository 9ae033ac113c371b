"""Admin/Search API fixtures: a cloud of its own on each live server, and the SDK pointed at it.

The live servers are shared with the rest of the suite, so these tests work in a cloud
created just for them: listings, counts and `delete_all_resources` see nothing else.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import pyvips
from sqlalchemy.engine import Engine
from support import LiveServer, sdk_pointed_at

from darkroom import catalog


@dataclasses.dataclass(frozen=True)
class AdminCloud:
    server: LiveServer  # carries this cloud's name and key
    engine: Engine  # the server's database, for arranging what the API cannot create (derivatives)


def _cloud_on(server: LiveServer, label: str) -> AdminCloud:
    engine = catalog.create_engine_for(server.database_url)
    name = f"admin-{label}-{secrets.token_hex(3)}"
    key = str(200000000000000 + secrets.randbelow(10**14))
    secret = secrets.token_urlsafe(18)
    catalog.upsert_key(engine, name, key, secret, label="admin tests")
    return AdminCloud(dataclasses.replace(server, cloud=name, api_key=key, api_secret=secret), engine)


@pytest.fixture
def cloud(server: LiveServer, request: pytest.FixtureRequest) -> Iterator[AdminCloud]:
    """A fresh cloud for each test (on each database), with the SDK configured for it."""
    module = request.module.__name__.rsplit(".", 1)[-1]
    made = _cloud_on(server, module[-12:].replace("_", "-"))
    with sdk_pointed_at(made.server):
        yield made
    made.engine.dispose()


@pytest.fixture(scope="session")
def png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("admin-samples") / "sample.png"
    band = pyvips.Image.xyz(64, 48)[0].cast("uchar")
    band.bandjoin([band, band]).write_to_file(str(path))
    return path
