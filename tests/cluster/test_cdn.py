"""CDN-friendly delivery: cache lifetimes by URL kind, Surrogate-Key labels on every delivery,
and `invalidate=true` calling the configured purge hook (here a recording HTTP server)."""

from __future__ import annotations

import http.server
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path

import cloudinary
import cloudinary.uploader
import httpx
import pytest
import pyvips
from cloudinary import CloudinaryImage
from support import LiveServer, configure_sdk, free_port, own_sqlite_server


class Recorder(http.server.BaseHTTPRequestHandler):
    seen: list[tuple[str, str, str]] = []  # (method, path, Surrogate-Key)

    def _record(self) -> None:
        self.seen.append((self.command, self.path, self.headers.get("Surrogate-Key", "")))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_PURGE = do_BAN = _record  # noqa: N815 - http.server's naming

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture(scope="module")
def purge_listener() -> Iterator[str]:
    port = free_port()
    listener = http.server.ThreadingHTTPServer(("127.0.0.1", port), Recorder)
    threading.Thread(target=listener.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{port}"
    listener.shutdown()


@pytest.fixture(scope="module")
def cdn_server(tmp_path_factory: pytest.TempPathFactory, purge_listener: str) -> Iterator[LiveServer]:
    template = purge_listener + "/{cloud}/{resource_type}/{type}/{public_id}?asset={asset_id}"
    yield from own_sqlite_server(tmp_path_factory, "cdn", extra_env={"DARKROOM_PURGE_URL": template})


@pytest.fixture
def cdn(cdn_server: LiveServer) -> Iterator[LiveServer]:
    configure_sdk(cdn_server)
    Recorder.seen.clear()
    yield cdn_server
    cloudinary.reset_config()


@pytest.fixture(scope="module")
def picture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cdn") / "picture.png"
    pyvips.Image.xyz(64, 48)[0].cast("uchar").write_to_file(str(path))
    return path


def url(server: LiveServer, public_id: str, **options: object) -> str:
    return str(CloudinaryImage(public_id).build_url(cname=server.host, secure=False, **options))


def test_versioned_urls_are_immutable_and_unversioned_ones_short_lived(cdn: LiveServer, picture: Path) -> None:
    uploaded = cloudinary.uploader.upload(str(picture))
    versioned = httpx.get(url(cdn, uploaded["public_id"], version=uploaded["version"], width=20, crop="scale", format="png"))
    assert versioned.headers["cache-control"] == "public, max-age=31536000, immutable"
    unversioned = httpx.get(url(cdn, uploaded["public_id"], width=20, crop="scale", format="png"))
    assert "stale-while-revalidate=" in unversioned.headers["cache-control"] and "immutable" not in unversioned.headers["cache-control"]


def test_every_delivery_carries_the_assets_surrogate_keys(cdn: LiveServer, picture: Path) -> None:
    uploaded = cloudinary.uploader.upload(str(picture), public_id=f"labels/{secrets.token_hex(3)}")
    expected = f"asset:{uploaded['asset_id']} public_id:{cdn.cloud}/{uploaded['public_id']} cloud:{cdn.cloud}"
    original = httpx.get(url(cdn, uploaded["public_id"], format="png"))
    derived = httpx.get(url(cdn, uploaded["public_id"], width=10, crop="scale", format="png"))
    replayed = httpx.get(url(cdn, uploaded["public_id"], width=10, crop="scale", format="png"))
    not_modified = httpx.get(url(cdn, uploaded["public_id"], width=10, crop="scale", format="png"), headers={"If-None-Match": derived.headers["etag"]})
    assert not_modified.status_code == 304
    for answer in (original, derived, replayed, not_modified):
        assert answer.headers["surrogate-key"] == expected


def test_invalidate_on_destroy_rename_explicit_and_overwrite_calls_the_purge_hook(cdn: LiveServer, picture: Path) -> None:
    name = f"purged/{secrets.token_hex(3)}"
    first = cloudinary.uploader.upload(str(picture), public_id=name)
    cloudinary.uploader.upload(str(picture), public_id=name, overwrite=True)  # no invalidate: no purge
    assert Recorder.seen == []
    cloudinary.uploader.upload(str(picture), public_id=name, overwrite=True, invalidate=True)
    cloudinary.uploader.explicit(name, type="upload", tags=["x"], invalidate=True)
    cloudinary.uploader.rename(name, f"{name}-renamed", invalidate=True)
    cloudinary.uploader.destroy(f"{name}-renamed", invalidate=True)
    paths = [(method, path.split("?")[0]) for method, path, _keys in Recorder.seen]
    base = f"/{cdn.cloud}/image/upload"
    assert paths == [("PURGE", f"{base}/{name}"), ("PURGE", f"{base}/{name}"), ("PURGE", f"{base}/{name}"), ("PURGE", f"{base}/{name}-renamed")]
    assert all(keys.startswith(f"asset:{first['asset_id']} ") for _m, _p, keys in Recorder.seen)
