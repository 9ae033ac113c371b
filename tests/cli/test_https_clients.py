"""Clients that force https (the `cld` CLI, django-cloudinary-storage): the README's two set-ups, run.

`cld url` builds https URLs on res.cloudinary.com unless told otherwise. Either darkroom
serves TLS and the configuration names it as the secure distribution, or the per-variable
configuration turns `secure` off and names darkroom as the cname.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pyvips
import trustme

from support import LiveServer, start_server, stop_server, wait_until_healthy



def cld(*args: str, env: dict[str, str], home: Path) -> str:
    """Run the `cld` command beside this Python with only the given Cloudinary configuration."""
    executable = Path(sys.executable).parent / "cld"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDINARY_")}
    result = subprocess.run([str(executable), *args], env={**clean, **env, "HOME": str(home)}, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr + result.stdout
    return result.stdout


def test_per_variable_configuration_with_secure_off_uploads_and_builds_plain_http_urls(sqlite_server: LiveServer, tmp_path: Path) -> None:
    server = sqlite_server
    env = {
        "CLOUDINARY_CLOUD_NAME": server.cloud,
        "CLOUDINARY_API_KEY": server.api_key,
        "CLOUDINARY_API_SECRET": server.api_secret,
        "CLOUDINARY_UPLOAD_PREFIX": server.base_url,
        "CLOUDINARY_SECURE": "false",
        "CLOUDINARY_CNAME": server.host,
    }
    picture = tmp_path / "ace.png"
    pyvips.Image.black(64, 48).write_to_file(str(picture))
    uploaded = json.loads(cld("uploader", "upload", str(picture), "public_id=cli/ace", env=env, home=tmp_path))
    assert (uploaded["public_id"], uploaded["width"], uploaded["height"]) == ("cli/ace", 64, 48)

    url = cld("url", "cli/ace.png", "w_32,c_scale", env=env, home=tmp_path).strip()
    assert url == f"{server.base_url}/{server.cloud}/image/upload/w_32,c_scale/v1/cli/ace.png"  # the SDK adds v1 to an ID in a folder
    delivered = httpx.get(url)
    assert delivered.status_code == 200
    assert pyvips.Image.new_from_buffer(delivered.content, "").width == 32


def test_tls_with_darkroom_as_secure_distribution_builds_https_urls_darkroom_serves(tmp_path: Path) -> None:
    authority = trustme.CA()
    issued = authority.issue_cert("127.0.0.1")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    issued.private_key_and_cert_chain_pem.write_to_path(str(cert))
    issued.private_key_pem.write_to_path(str(key))
    server = start_server(tmp_path, f"sqlite:///{tmp_path / 'd.db'}", args=("--tls-cert", str(cert), "--tls-key", str(key)))
    trusted = ssl.create_default_context()
    authority.configure_trust(trusted)
    try:
        wait_until_healthy(server.base_url, server.process, verify=trusted)
        picture = tmp_path / "logo.png"
        pyvips.Image.black(40, 30).write_to_file(str(picture))
        upload = httpx.post(
            f"{server.base_url}/v1_1/{server.cloud}/image/upload",
            files={"file": picture.read_bytes()},
            data={"public_id": "tls/logo"},
            auth=(server.api_key, server.api_secret),
            verify=trusted,
        )
        assert upload.status_code == 200, upload.text
        configuration = f"cloudinary://{server.api_key}:{server.api_secret}@{server.cloud}?upload_prefix={server.base_url}&secure_distribution={server.host}"
        url = cld("url", "tls/logo.png", "w_20,c_scale", env={"CLOUDINARY_URL": configuration}, home=tmp_path).strip()
        assert url == f"https://{server.host}/{server.cloud}/image/upload/w_20,c_scale/v1/tls/logo.png"
        delivered = httpx.get(url, verify=trusted)
        assert delivered.status_code == 200
        assert pyvips.Image.new_from_buffer(delivered.content, "").width == 20
        with httpx.Client(verify=trusted) as client:  # repeats on one TLS connection: the server's hit lane answers
            again = [client.get(url) for _ in range(3)]
        assert [(answer.status_code, answer.content) for answer in again] == [(200, delivered.content)] * 3
    finally:
        stop_server(server)
