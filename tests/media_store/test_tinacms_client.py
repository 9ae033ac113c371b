"""TinaCMS's own media store classes (npm next-tinacms-cloudinary 27.0.4) against a live darkroom.

The client is the published package, unchanged; only `tinacms` itself (a whole CMS UI the
store takes two helpers from) is stood in for by tests/media_store/node/tinacms-shim.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.media_store.conftest import png_bytes
from tests.support import LiveServer, own_sqlite_server

NODE_DIR = Path(__file__).parent / "node"

pytestmark = pytest.mark.skipif(shutil.which("node") is None or shutil.which("npm") is None, reason="needs Node.js and npm")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    yield from own_sqlite_server(tmp_path_factory, "darkroom-tina")


def media_token(server: LiveServer) -> str:
    env = {**server.env(), "DARKROOM_DATABASE_URL": server.database_url}
    done = subprocess.run(
        [sys.executable, "-m", "darkroom", "tokens", "create", "--scope", "media", "--data-dir", str(server.data_dir)],
        env=env, check=True, capture_output=True, text=True,
    )
    return done.stdout.strip().splitlines()[-1]


def run_client(server: LiveServer, token: str) -> dict[str, Any]:
    if not (NODE_DIR / "node_modules" / "next-tinacms-cloudinary").exists():
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--legacy-peer-deps", "--silent"], cwd=NODE_DIR, check=True, timeout=300)
    env = {"PATH": os.environ["PATH"], "DARKROOM_BASE": server.base_url, "MEDIA_TOKEN": token,
           "PNG_B64": base64.b64encode(png_bytes(90, 60)).decode()}
    done = subprocess.run(["node", "tina_client.mjs"], cwd=NODE_DIR, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def files_of(pages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [item for page in pages for item in page["items"] if item["type"] == "file"]


def test_tinacms_store_uploads_lists_pages_and_deletes(live: LiveServer) -> None:
    report = run_client(live, media_token(live))

    # Without credentials the store raises its "Unauthorized" error (and TinaCMS shows its login wall).
    assert report["anonymous"]["title"] == "Unauthorized"

    persisted = report["persisted"]
    assert [m["filename"] for m in persisted] == ["My-Pixel-1", "second", "third"]
    for media in persisted:
        assert media["id"].startswith("tina-test/") and media["src"].endswith(".png")
    # The first was deleted at the end of the session; the others are served at their src.
    assert httpx.get(persisted[0]["src"]).status_code == 404
    assert all(httpx.get(media["src"]).status_code == 200 for media in persisted[1:])

    root_dirs = [item for page in report["root"] for item in page["items"] if item["type"] == "dir"]
    assert {"id": "tina-test", "type": "dir", "filename": "tina-test", "directory": "."} in root_dirs

    folder = report["folder"]
    assert len(folder) == 2 and folder[0]["nextOffset"] and not folder[1].get("nextOffset")
    listed = files_of(folder)
    assert sorted(m["id"] for m in listed) == sorted(m["id"] for m in persisted)
    thumbnail = listed[0]["thumbnails"]["400x400"]
    assert "/image/upload/w_400,h_400,c_fit,q_auto/" in thumbnail and thumbnail.endswith(".png")
    rendered = httpx.get(thumbnail)
    assert rendered.status_code == 200 and rendered.headers["content-type"].startswith("image/")

    remaining = sorted(m["id"] for m in files_of(report["afterDelete"]))
    assert remaining == sorted(m["id"] for m in persisted[1:])
