"""The official Node SDK (`cloudinary` on npm) works against darkroom by configuration alone.

`tests/node/upload_and_download.mjs` uploads a file with `cloudinary.v2.uploader.upload`,
configured only by CLOUDINARY_URL, checks the response signature with the SDK's own
`verify_api_response_signature`, and downloads the original from the response's `url`
and from the URL the SDK builds itself. This test runs it and checks what it saw.
`.ci/run` installs the SDK (`npm install` in tests/node).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import pyvips

if TYPE_CHECKING:
    from support import LiveServer

NODE_DIR = Path(__file__).parent / "node"
SCRIPT = NODE_DIR / "upload_and_download.mjs"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed (apt-get install nodejs npm)")


def run_node_upload(
    server: LiveServer, file: Path, public_id: str, chunk_bytes: int | None = None
) -> dict[str, Any]:
    """Run the Node script against `server`; fail with its stderr if it fails."""
    if not (NODE_DIR / "node_modules" / "cloudinary").is_dir():
        pytest.fail("the Node SDK is not installed: run `npm install` in tests/node (.ci/run does)")
    assert NODE is not None
    completed = subprocess.run(
        [NODE, str(SCRIPT), str(file), public_id, *([str(chunk_bytes)] if chunk_bytes else [])],
        env=server.env(),
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return dict(json.loads(completed.stdout))


@pytest.fixture
def png_file(tmp_path: Path) -> Path:
    """A real 64x48 PNG, so darkroom reports it as an image with its size."""
    path = tmp_path / "node-upload.png"
    pyvips.Image.black(64, 48, bands=3).add([200, 30, 90]).cast("uchar").pngsave(str(path))
    return path


def test_node_sdk_uploads_and_downloads_the_original(sqlite_server: LiveServer, png_file: Path) -> None:
    public_id = f"node/sample_{secrets.token_hex(4)}"
    seen = run_node_upload(sqlite_server, png_file, public_id)
    upload = seen["upload"]

    assert upload["public_id"] == public_id
    assert (upload["resource_type"], upload["type"], upload["format"]) == ("image", "upload", "png")
    assert (upload["width"], upload["height"]) == (64, 48)
    assert upload["bytes"] == png_file.stat().st_size
    assert upload["tags"] == ["node-sdk"]
    assert upload["url"].startswith(f"http://{sqlite_server.host}/{sqlite_server.cloud}/image/upload/")
    assert seen["signature_ok"] is True, "the SDK's verify_api_response_signature must accept it"

    expected = hashlib.sha256(png_file.read_bytes()).hexdigest()
    assert seen["source_sha256"] == expected
    for name in ("response_url", "sdk_url"):
        download = seen[name]
        assert download["status"] == 200, download
        assert download["sha256"] == expected, f"{name} did not serve the original byte for byte"
        assert download["content_type"] == "image/png"
    assert seen["sdk_url"]["url"].startswith(f"http://{sqlite_server.host}/{sqlite_server.cloud}/")


def test_node_sdk_upload_large_sends_chunks_that_assemble(sqlite_server: LiveServer, tmp_path: Path) -> None:
    """The Node SDK marks every chunk but the last `bytes A-B/-1`; the asset appears whole."""
    source = tmp_path / "big.bin"
    source.write_bytes(secrets.token_bytes(5 * 1024 * 1024 + 123))
    public_id = f"node/large_{secrets.token_hex(4)}"
    seen = run_node_upload(sqlite_server, source, public_id, chunk_bytes=2 * 1024 * 1024)
    upload = seen["upload"]

    assert upload["public_id"] == public_id
    assert (upload["resource_type"], upload["bytes"]) == ("raw", source.stat().st_size)
    assert seen["signature_ok"] is True
    expected = hashlib.sha256(source.read_bytes()).hexdigest()
    for name in ("response_url", "sdk_url"):
        assert (seen[name]["status"], seen[name]["sha256"]) == (200, expected), (upload, seen[name])


def run_node_admin_calls(server: LiveServer, file: Path, prefix: str) -> dict[str, Any]:
    completed = subprocess.run(
        [str(NODE), str(NODE_DIR / "admin_calls.mjs"), str(file), prefix],
        env=server.env(), cwd=NODE_DIR, capture_output=True, text=True, timeout=120, check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return dict(json.loads(completed.stdout))


def test_node_sdk_admin_calls_sent_form_encoded_work(server: LiveServer, png_file: Path) -> None:
    """The Node SDK posts most Admin calls as forms (`public_ids[]=…`, repeated `fields=`): each
    must do what it does from the Python SDK, not fail as "Invalid JSON"."""
    prefix = f"nodeadmin/{secrets.token_hex(4)}"
    calls = run_node_admin_calls(server, png_file, prefix)
    failed = {name: result["error"] for name, result in calls.items() if "error" in result}
    assert not failed, failed

    assert sorted(calls["update"]["tags"]) == ["n1", "n2"]
    assert calls["update"]["context"]["custom"] == {"alt": "a b"}
    listed = {item["public_id"]: item for item in calls["resources_by_ids"]["resources"]}
    assert set(listed) == {f"{prefix}/one", f"{prefix}/two"}
    assert sorted(listed[f"{prefix}/one"]["tags"]) == ["n1", "n2"]
    assert {item["public_id"] for item in calls["resources"]["resources"]} == set(listed)
    preset = calls["upload_preset"]
    assert preset["unsigned"] is True
    assert preset["settings"]["folder"] == prefix and preset["settings"]["tags"] == "p3"
    assert preset["settings"]["disallow_public_id"] is True
    assert calls["transformation"]["allowed_for_strict"] is True
    assert calls["transformation"]["info"][0]["width"] == 100
    assert calls["delete_resources"]["deleted"] == {f"{prefix}/one": "deleted", f"{prefix}/two": "deleted"}
    assert calls["delete_upload_preset"]["message"] == "deleted"
    assert calls["create_folder"]["success"] is True
