"""The cluster the tests drive (started by conftest.py): its nodes and what they share."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from dataclasses import dataclass
from typing import Any

import httpx
import redis
from support import LiveServer

REDIS_URL = os.environ.get("DARKROOM_TEST_REDIS", "redis://127.0.0.1:6379/0")


@dataclass
class Cluster:
    nodes: list[LiveServer]
    env: dict[str, str]  # what every node shares: database, store, Redis, key
    cloud: str
    api_key: str
    api_secret: str
    workers: list[subprocess.Popen[bytes]]  # `darkroom worker` processes: they run every job

    def options(self, node: int) -> dict[str, Any]:
        """SDK options sending one call to `node` (Upload and Admin APIs alike)."""
        return {"upload_prefix": self.nodes[node].base_url}

    def url(self, node: int, path: str) -> str:
        return f"{self.nodes[node].base_url}{path}"

    def renders(self) -> float:
        """Renders so far, summed over the live nodes' /metrics."""
        total = 0.0
        for server in self.nodes:
            if server.process.poll() is not None:
                continue
            text = httpx.get(f"{server.base_url}/metrics", timeout=10).text
            match = re.search(r"^darkroom_renders_total ([0-9.e+]+)$", text, re.MULTILINE)
            total += float(match.group(1)) if match else 0.0
        return total

    def kill(self, node: int) -> None:
        """The node dies at once, as a crashed machine would (no graceful shutdown)."""
        self.nodes[node].process.send_signal(signal.SIGKILL)
        self.nodes[node].process.wait(timeout=10)


def redis_available() -> bool:
    try:
        with redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1) as client:
            return bool(client.ping())
    except redis.RedisError:
        return False
