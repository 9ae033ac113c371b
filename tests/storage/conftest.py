"""Fixtures: every storage test runs against a local folder, memory, and a real
S3-compatible server (moto in server mode, a separate process on loopback)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from darkroom.storage import BlobStore, open_store

MOTO_KEY = "testing-key"
MOTO_SECRET = "testing-secret"


@pytest.fixture
def anyio_backend() -> str:
    """darkroom runs on asyncio (uvicorn); the storage tests need nothing else."""
    return "asyncio"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
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


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real S3 API over HTTP: moto's server mode in its own process."""
    port = _free_port()
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "AWS_ACCESS_KEY_ID": MOTO_KEY, "AWS_SECRET_ACCESS_KEY": MOTO_SECRET},
    )
    try:
        _wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


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


@pytest.fixture(params=["local", "memory", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    """The same BlobStore contract, three backends."""
    if request.param == "local":
        return open_store(f"file://{tmp_path / 'blobs'}")
    if request.param == "memory":
        return open_store("memory://")
    endpoint = request.getfixturevalue("moto_endpoint")
    return open_store(s3_url(endpoint, make_bucket(endpoint)))
