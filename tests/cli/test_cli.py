"""The `darkroom` command line: help everywhere, keys, migrate, HTTPS serving."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import trustme

from support import start_server, stop_server, wait_until_healthy


def darkroom(*args: str, data_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    extra = ["--data-dir", str(data_dir)] if data_dir else []
    env = {k: v for k, v in os.environ.items() if k not in ("CLOUDINARY_URL", "DARKROOM_DATABASE_URL")}
    return subprocess.run([sys.executable, "-m", "darkroom", *args, *extra], capture_output=True, text=True, env=env)


@pytest.mark.parametrize(
    "command",
    [(), ("serve",), ("migrate",), ("keys",), ("keys", "create"), ("keys", "list"), ("keys", "revoke"), ("policies",), ("policies", "create")],
)
def test_every_command_has_help(command: tuple[str, ...]) -> None:
    result = darkroom(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout


def test_keys_create_list_revoke(tmp_path: Path) -> None:
    assert darkroom("migrate", data_dir=tmp_path).returncode == 0
    created = dict(line.split("=", 1) for line in darkroom("keys", "create", "--cloud", "acme", data_dir=tmp_path).stdout.split())
    assert created["cloud"] == "acme" and len(created["api_key"]) == 15
    listing = darkroom("keys", "list", "--cloud", "acme", data_dir=tmp_path).stdout
    assert created["api_key"] in listing and "active" in listing
    assert created["api_secret"] not in listing
    assert darkroom("keys", "revoke", created["api_key"], data_dir=tmp_path).returncode == 0
    assert "revoked" in darkroom("keys", "list", "--cloud", "acme", data_dir=tmp_path).stdout
    assert darkroom("keys", "revoke", created["api_key"], data_dir=tmp_path).returncode != 0


def test_serve_over_https_with_a_generated_certificate(tmp_path: Path) -> None:
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1", "localhost")
    cert, key, ca = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    certificate.private_key_and_cert_chain_pem.write_to_path(str(cert))
    certificate.private_key_pem.write_to_path(str(key))
    authority.cert_pem.write_to_path(str(ca))
    server = start_server(tmp_path, f"sqlite:///{tmp_path / 'd.db'}", args=("--tls-cert", str(cert), "--tls-key", str(key)))
    try:
        trusted = ssl.create_default_context(cafile=str(ca))
        wait_until_healthy(server.base_url, server.process, verify=trusted)
        assert server.base_url.startswith("https://")
        assert httpx.get(f"{server.base_url}/health", verify=trusted).json() == {"status": "ok"}
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{server.base_url}/health")  # untrusted without the test CA
    finally:
        stop_server(server)
