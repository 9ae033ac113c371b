"""The breadth calls through the official Node SDK, which sends them form-encoded
(`tests/node/breadth_calls.mjs`), against a fresh cloud on each database."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.breadth.conftest import AdminCloud

NODE_DIR = Path(__file__).parents[1] / "node"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed (apt-get install nodejs npm)")


def test_node_sdk_breadth_calls_work(cloud: AdminCloud, png: Path, file_server: tuple[str, Path, dict[str, str]]) -> None:
    if not (NODE_DIR / "node_modules" / "cloudinary").is_dir():
        pytest.fail("the Node SDK is not installed: run `npm install` in tests/node (.ci/run does)")
    assert NODE is not None
    base, folder, _ = file_server
    (folder / "node-query.png").write_bytes(png.read_bytes())
    done = subprocess.run([NODE, "breadth_calls.mjs", str(png), f"{base}/node-query.png"], env=cloud.server.env(), cwd=NODE_DIR,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    calls = json.loads(done.stdout)
    assert [u["public_id"] for u in calls["update_resources_access_mode_by_ids"]["updated"]] == ["nb/one", "nb/two"]
    assert calls["update_resources_access_mode_by_prefix"]["updated"] == [{"public_id": "nb/two", "access_mode": "public"}]
    assert calls["update_resources_access_mode_by_tag"]["updated"] == [{"public_id": "nb/one", "access_mode": "public"}]
    for call, public_id in (("publish_by_ids", "nb/p1"), ("publish_by_prefix", "nb/p2"), ("publish_by_tag", "nb/p3")):
        assert [p["public_id"] for p in calls[call]["published"]] == [public_id], calls[call]
    for call in ("add_related_assets", "delete_related_assets", "add_related_assets_by_asset_id", "delete_related_assets_by_asset_id"):
        assert len(calls[call]["success"]) == 1 and calls[call]["failed"] == [], calls[call]
    assert calls["related"] == ["nb/two"]
    assert len(calls["delete_backed_up_assets"]["deleted_version_ids"]) == 1
    assert calls["visual_search"] == ["nb/one"]
