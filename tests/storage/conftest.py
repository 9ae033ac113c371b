"""Fixtures: every storage test runs against a local folder, memory, and a real
S3-compatible server (moto in server mode, a separate process on loopback)."""

from __future__ import annotations

from pathlib import Path

import pytest

from darkroom.storage import BlobStore, open_store
from support import make_bucket, s3_url


@pytest.fixture
def anyio_backend() -> str:
    """darkroom runs on asyncio (uvicorn); the storage tests need nothing else."""
    return "asyncio"


@pytest.fixture(params=["local", "memory", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    """The same BlobStore contract, three backends."""
    if request.param == "local":
        return open_store(f"file://{tmp_path / 'blobs'}")
    if request.param == "memory":
        return open_store("memory://")
    endpoint = request.getfixturevalue("moto_endpoint")
    return open_store(s3_url(endpoint, make_bucket(endpoint)))
