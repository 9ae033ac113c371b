"""A darkroom cluster on 127.0.0.1: three `darkroom serve` processes and two `darkroom worker`
processes on one PostgreSQL database, one S3 bucket (moto's server) and the Redis at
127.0.0.1:6379, as docs/deploy.md lays it out.

The client spreads its requests: each call names the node it goes to (`Cluster.options(i)`,
the SDK's per-call `upload_prefix`), so a test says which node does what.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import cloudinary
import pytest
import pyvips
from support import LiveServer, make_bucket, s3_url, start_server, stop_server, wait_until_healthy

from tests.cluster.cluster import REDIS_URL, Cluster, redis_available

NODES = 3
WORKERS = 2


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, postgres_url: str, moto_endpoint: str) -> Iterator[Cluster]:
    if not redis_available():
        pytest.skip(f"no Redis at {REDIS_URL}")
    cloud = f"cluster{secrets.token_hex(3)}"
    api_key = str(10**14 + secrets.randbelow(10**14))
    api_secret = secrets.token_urlsafe(18)
    env = {
        "CLOUDINARY_URL": f"cloudinary://{api_key}:{api_secret}@{cloud}",
        "DARKROOM_STORAGE_URL": s3_url(moto_endpoint, make_bucket(moto_endpoint)),
        "DARKROOM_REDIS_URL": REDIS_URL,
        "DARKROOM_RENDER_CONCURRENCY": "1",
        "DARKROOM_JOBS_IN_PROCESS": "false",  # the workers run every job
    }
    started: list[LiveServer] = []
    workers: list[subprocess.Popen[bytes]] = []
    try:
        for index in range(WORKERS):
            folder = tmp_path_factory.mktemp(f"worker{index}")
            workers.append(subprocess.Popen(
                [sys.executable, "-m", "darkroom", "worker", "--data-dir", str(folder), "--log-level", "warning"],
                env={**os.environ, **env, "DARKROOM_DATABASE_URL": postgres_url}, stdout=(folder / "worker.log").open("ab"), stderr=subprocess.STDOUT,
            ))
        for index in range(NODES):
            server = start_server(tmp_path_factory.mktemp(f"node{index}"), postgres_url, cloud=cloud, extra_env=env)
            started.append(dataclasses.replace(server, api_key=api_key, api_secret=api_secret))
        for server in started:
            wait_until_healthy(server.base_url, server.process)
        yield Cluster(started, {**env, "DARKROOM_DATABASE_URL": postgres_url}, cloud, api_key, api_secret, workers)
    finally:
        for process in workers:
            process.terminate()
        for process in workers:
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()
        for server in started:
            if server.process.poll() is None:
                stop_server(server)


@pytest.fixture
def sdk(cluster: Cluster) -> Iterator[Cluster]:
    """The official SDK configured for the cluster (node 0 unless a call says otherwise)."""
    os.environ["CLOUDINARY_URL"] = cluster.nodes[0].cloudinary_url
    cloudinary.reset_config()
    yield cluster
    os.environ.pop("CLOUDINARY_URL", None)
    cloudinary.reset_config()


@pytest.fixture(scope="session")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 320×240 JPEG of about 20 KB."""
    path = tmp_path_factory.mktemp("cluster-samples") / "photo.jpg"
    noise = pyvips.Image.gaussnoise(320, 240, mean=128, sigma=40)
    noise.bandjoin([noise.rot180(), noise.fliphor()]).cast("uchar").write_to_file(str(path), Q=85)
    return path
