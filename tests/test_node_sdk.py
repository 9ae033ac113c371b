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

import httpx
import pytest
import pyvips

from tests.admin.conftest import _cloud_on

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


# ---- every Upload and Admin function of the Node SDK, live (tests/node/every_call.mjs) ----


def run_every_call(server: LiveServer, family: str, file: Path) -> dict[str, Any]:
    prefix = f"every/{family}/{secrets.token_hex(4)}"
    completed = subprocess.run(
        [str(NODE), str(NODE_DIR / "every_call.mjs"), family, str(file), prefix],
        env=server.env(), cwd=NODE_DIR, capture_output=True, text=True, timeout=240, check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return {"prefix": prefix, **json.loads(completed.stdout)}


def test_every_node_upload_function(server: LiveServer, png_file: Path) -> None:
    calls = run_every_call(server, "uploads", png_file)
    prefix = calls["prefix"]
    for name in ("upload", "upload_stream", "upload_chunked", "upload_chunked_stream"):
        assert (calls[name]["width"], calls[name]["height"], calls[name]["format"]) == (64, 48, "png"), name
    assert calls["upload_large"]["resource_type"] == "raw"  # the Node SDK's default for upload_large, as on Cloudinary
    assert calls["upload_large"]["bytes"] == png_file.stat().st_size
    assert calls["upload"]["tags"] == ["t1"] and calls["upload"]["context"] == {"custom": {"alt": "first"}}
    assert calls["unsigned_upload"]["public_id"] == f"{prefix}/unsigned/u"  # the preset's folder
    assert calls["unsigned_upload_stream"]["public_id"] == f"{prefix}/unsigned/us"
    # Exported by the SDK without an implementation behind it: it fails before any request.
    assert calls["upload_large_part"]["error"] == "Cannot read properties of undefined (reading 'apply')"
    assert calls["explicit"]["tags"] == ["t2"] and calls["explicit"]["eager"][0]["width"] == 20
    assert calls["add_tag"] == {"public_ids": [f"{prefix}/a", f"{prefix}/s"]}
    for name in ("remove_tag", "replace_tag", "remove_all_tags", "remove_all_context"):
        assert calls[name] == {"public_ids": [f"{prefix}/s"]}, name
    assert calls["add_context"] == {"public_ids": [f"{prefix}/a"]}
    assert calls["update_metadata"] == {"error": "Metadata field no_such_field does not exist", "http_code": 400}
    assert calls["rename"]["public_id"] == f"{prefix}/renamed"
    assert calls["text"]["type"] == "text" and calls["text"]["width"] > 1
    assert calls["generate_sprite"]["image_infos"] and calls["generate_sprite"]["css_url"].endswith(".css")
    assert calls["multi"]["url"].endswith(".gif")
    assert calls["explode"]["status"] == "processing"
    assert calls["create_archive"]["file_count"] == 1 and calls["create_zip"]["file_count"] == 1
    assert calls["destroy"] == {"result": "ok"}
    # The builders point at darkroom, and what they point at answers.
    base = server.base_url
    sprite = httpx.get(calls["download_generated_sprite"]["url"])
    assert sprite.status_code == 200 and sprite.headers["content-type"] == "image/png"
    assert httpx.get(calls["download_multi"]["url"]).headers["content-type"] == "image/gif"
    assert calls["upload_url"]["url"] == f"{base}/v1_1/{server.cloud}/auto/upload"
    assert calls["direct_upload"]["form_attrs"]["action"] == f"{base}/v1_1/{server.cloud}/image/upload"
    form = json.loads(calls["upload_tag_params"]["params"])
    posted = httpx.post(f"{base}/v1_1/{server.cloud}/image/upload", data=form, files={"file": png_file.read_bytes()})
    assert posted.status_code == 200 and posted.json()["public_id"] == f"{prefix}/tag"
    assert f"data-url='{base}/v1_1/{server.cloud}/auto/upload'" in calls["image_upload_tag"]["html"]
    assert "upload_preset" in calls["unsigned_image_upload_tag"]["html"]


def test_every_node_resources_function(server: LiveServer, png_file: Path) -> None:
    # A cloud of its own: this family deletes by tag, by prefix and everything private.
    own = _cloud_on(server, "node-every")
    try:
        calls = run_every_call(own.server, "resources", png_file)
    finally:
        own.engine.dispose()
    prefix = calls.pop("prefix")
    one, two = f"{prefix}/one", f"{prefix}/two"
    failed = {call: result["error"] for call, result in calls.items() if "error" in result}
    assert not failed, failed
    assert calls["resource"]["public_id"] == calls["resource_by_asset_id"]["public_id"] == one
    for listing in ("resources_by_asset_ids", "resources_by_ids", "resources"):
        assert {item["public_id"] for item in calls[listing]["resources"]} == {one, two}, listing
    assert [item["public_id"] for item in calls["resources_by_tag"]["resources"]] == [one]
    assert [item["public_id"] for item in calls["resources_by_context"]["resources"]] == [one]
    assert [item["public_id"] for item in calls["resources_by_moderation"]["resources"]] == [two]
    assert [item["public_id"] for item in calls["resources_by_asset_folder"]["resources"]] == [one]
    assert "image" in calls["resource_types"]["resource_types"]
    assert calls["update"]["tags"] == ["x"]
    for call in ("add_related_assets", "add_related_assets_by_asset_id", "delete_related_assets", "delete_related_assets_by_asset_id"):
        assert calls[call]["failed"] == [] and len(calls[call]["success"]) == 1, call
    assert [item["public_id"] for item in calls["publish_by_ids"]["published"]] == [one]
    assert calls["update_resources_access_mode_by_ids"]["updated"] == [{"public_id": one, "access_mode": "authenticated"}]
    assert calls["update_resources_access_mode_by_prefix"]["updated"] == [{"public_id": one, "access_mode": "public"}]
    assert calls["delete_derived_resources"]["deleted"] == {"no-such-derived-id": "not_found"}
    assert calls["delete_derived_by_transformation"]["deleted"] == {two: "deleted"}
    assert calls["delete_resources"]["deleted"] == {two: "deleted"}
    assert calls["restore"][two]["public_id"] == two  # backed up at upload (backup: true)
    assert calls["restore_by_asset_ids"]  # restored by asset id after a second delete
    restored = {key: item for key, item in calls["restore_by_asset_ids"].items() if not key.startswith("rate_limit_")}
    assert len(restored) == 1, restored
    [(asset_id, item)] = restored.items()
    assert (item["asset_id"], item["public_id"]) == (asset_id, two)  # keyed by the asset id, and it is `two`
    assert calls["delete_resources_by_tag"]["deleted"] == {one: "deleted"}
    assert calls["delete_resources_by_prefix"]["deleted"] == {two: "deleted"}  # one went by tag just before
    assert calls["delete_all_resources"]["deleted"] == {}


def test_every_node_settings_function(server: LiveServer, png_file: Path) -> None:
    calls = run_every_call(server, "settings", png_file)
    prefix = calls.pop("prefix")
    name = prefix.replace("/", "_")
    failed = {call: result["error"] for call, result in calls.items() if "error" in result}
    assert not failed, failed
    assert calls["ping"]["status"] == "ok" and calls["config"]["cloud_name"] == server.cloud
    assert "storage" in calls["usage"]
    assert name in {preset["name"] for preset in calls["upload_presets"]["presets"]}
    assert f"t_{name}_t" in {t["name"] for t in calls["transformations"]["transformations"]}
    assert calls["sub_folders"]["folders"] == [{"name": "f1", "path": f"{prefix}/f1", "external_id": calls["sub_folders"]["folders"][0]["external_id"]}]
    assert calls["rename_folder"]["to"] == {"name": "g1", "path": f"{prefix}/g1"}
    assert calls["delete_folder"]["deleted"] == [f"{prefix}/g1/f2"]
    assert calls["upload_mapping"]["template"] == "http://127.0.0.1:9/origin/"
    assert calls["get_streaming_profile"]["data"]["representations"][0]["transformation"][0]["width"] == 640
    assert calls["update_streaming_profile"]["data"]["representations"][0]["transformation"][0]["width"] == 320
    assert [v["external_id"] for v in calls["order_metadata_field_datasource"]["values"]] == ["s", "m", "l"]  # by value, descending
    assert calls["update_metadata_field"]["label"] == "Sizes"
    assert calls["add_metadata_rule"]["metadata_field_id"] == f"{name}_size"
    assert calls["list_metadata_rules"]["metadata_rules"] == [
        {key: calls["add_metadata_rule"][key] for key in ("external_id", "metadata_field_id", "name", "condition", "result", "state")}
    ]
    assert (calls["update_metadata_rule"]["name"], calls["update_metadata_rule"]["state"]) == ("bigger", "inactive")
    assert calls["delete_metadata_rule"]["success"] is True
    assert calls["transformation"]["allowed_for_strict"] is True
    assert calls["delete_upload_preset"]["message"] == "deleted"


def test_every_node_search_function(server: LiveServer, png_file: Path) -> None:
    calls = run_every_call(server, "search", png_file)
    prefix = calls["prefix"]
    assert [item["public_id"] for item in calls["search"]["resources"]] == [f"{prefix}/found"]
    assert [folder["path"] for folder in calls["search_folders"]["folders"]] == [prefix]


def test_node_visual_search_finds_the_asset_itself_first(server: LiveServer, png_file: Path) -> None:
    calls = run_every_call(server, "search", png_file)
    assert calls["visual_search"]["resources"][0]["public_id"] == f"{calls['prefix']}/found"
