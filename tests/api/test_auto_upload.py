"""Auto-upload (Cloudinary's lazy migration): a delivery URL under a mapped folder whose asset
is missing is fetched from the mapping's origin once, stored as an ordinary asset and served.

The origin is a local HTTP server on 127.0.0.1, which the test servers allow-list
(`DARKROOM_FETCH_ALLOW=127.0.0.1/32`); any other private address is refused as uploads from a
URL are. Each test maps a folder of its own, so the shared clouds need no cleaning.
"""

from __future__ import annotations

import contextlib
import http.server
import secrets
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import cloudinary.api
import httpx
import pytest
import pyvips
from cloudinary.exceptions import NotFound

from support import LiveServer


@dataclass
class Origin:
    """What the origin serves (path → bytes), how often each path was asked for, and a delay."""

    base_url: str
    files: dict[str, bytes] = field(default_factory=dict)
    hits: Counter[str] = field(default_factory=Counter)
    delay: float = 0.0


@contextlib.contextmanager
def serving(host: str) -> Iterator[Origin]:
    """An origin listening on `host` (any port) while the block runs."""
    served = Origin("")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            served.hits[self.path] += 1
            time.sleep(served.delay)
            body = served.files.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *_args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer((host, 0), Handler)
    served.base_url = f"http://{host}:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield served
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="module")
def origin() -> Iterator[Origin]:
    with serving("127.0.0.1") as served:
        yield served


def png_bytes(width: int = 120, height: int = 80) -> bytes:
    image = pyvips.Image.black(width, height, bands=3).add([40, 160, 90]).cast("uchar")
    return bytes(image.pngsave_buffer())


def mapped_folder(origin: Origin) -> tuple[str, str]:
    """A new mapped folder and the origin path its template points at (both unique: the
    origin serves the tests of both databases)."""
    folder = f"wiki{secrets.token_hex(3)}"
    cloudinary.api.create_upload_mapping(folder, template=f"{origin.base_url}/{folder}-origin/")
    return folder, f"/{folder}-origin"


def delivery(cld: LiveServer, rest: str) -> httpx.Response:
    return httpx.get(f"{cld.base_url}/{cld.cloud}/image/upload/{rest}", timeout=30)


def test_first_delivery_fetches_stores_and_serves_then_uses_the_stored_copy(cld: LiveServer, origin: Origin) -> None:
    folder, media = mapped_folder(origin)
    origin.files[f"{media}/a/b/cat.png"] = png_bytes()

    first = delivery(cld, f"w_50/{folder}/a/b/cat.png")
    assert first.status_code == 200, first.headers.get("x-cld-error")
    assert first.headers["content-type"] == "image/png"
    scaled = pyvips.Image.new_from_buffer(first.content, "")
    assert (scaled.width, scaled.height) == (50, 33)

    stored = cloudinary.api.resource(f"{folder}/a/b/cat")
    assert (stored["type"], stored["format"], stored["width"], stored["height"]) == ("upload", "png", 120, 80)
    listed = cloudinary.api.resources(type="upload", prefix=f"{folder}/")["resources"]
    assert [item["public_id"] for item in listed] == [f"{folder}/a/b/cat"]

    assert delivery(cld, f"w_50/{folder}/a/b/cat.png").content == first.content
    assert delivery(cld, f"{folder}/a/b/cat.png").content == origin.files[f"{media}/a/b/cat.png"]
    assert delivery(cld, f"c_fill,h_20,w_20/v1/{folder}/a/b/cat.jpg").headers["content-type"] == "image/jpeg"
    assert origin.hits[f"{media}/a/b/cat.png"] == 1


def test_the_deepest_mapped_folder_wins_and_the_template_gets_one_slash(cld: LiveServer, origin: Origin) -> None:
    outer, outer_media = mapped_folder(origin)
    cloudinary.api.create_upload_mapping(f"{outer}/inner", template=f"{origin.base_url}/{outer}-inner")  # no trailing slash
    origin.files[f"/{outer}-inner/dog.png"] = png_bytes(30, 30)
    assert delivery(cld, f"{outer}/inner/dog.png").status_code == 200
    assert origin.hits[f"/{outer}-inner/dog.png"] == 1
    assert origin.hits[f"{outer_media}/inner/dog.png"] == 0


def test_concurrent_first_requests_fetch_once(cld: LiveServer, origin: Origin) -> None:
    folder, media = mapped_folder(origin)
    origin.files[f"{media}/busy.png"] = png_bytes()
    origin.delay = 0.5
    try:
        with ThreadPoolExecutor(max_workers=6) as pool:
            answers = list(pool.map(lambda width: delivery(cld, f"w_{width}/{folder}/busy.png"), range(20, 26)))
    finally:
        origin.delay = 0.0
    assert [a.status_code for a in answers] == [200] * 6
    assert [pyvips.Image.new_from_buffer(a.content, "").width for a in answers] == list(range(20, 26))
    assert origin.hits[f"{media}/busy.png"] == 1


def test_remote_404_is_a_delivery_404_and_stores_nothing(cld: LiveServer, origin: Origin) -> None:
    folder, media = mapped_folder(origin)
    missing = delivery(cld, f"w_50/{folder}/nothing/here.png")
    assert missing.status_code == 404
    assert "auto-upload" in missing.headers["x-cld-error"]
    assert origin.hits[f"{media}/nothing/here.png"] == 1
    with pytest.raises(NotFound):
        cloudinary.api.resource(f"{folder}/nothing/here")


def test_an_origin_that_is_not_an_image_is_a_404(cld: LiveServer, origin: Origin) -> None:
    folder, media = mapped_folder(origin)
    origin.files[f"{media}/notes.png"] = b"plain text, not a picture"
    answer = delivery(cld, f"{folder}/notes.png")
    assert answer.status_code == 404 and "auto-upload" in answer.headers["x-cld-error"]


def test_an_origin_on_a_private_address_not_allow_listed_is_refused(cld: LiveServer) -> None:
    # 127.0.0.2 is loopback too, but outside the test servers' allow-list (127.0.0.1/32).
    with serving("127.0.0.2") as private:
        folder = f"private{secrets.token_hex(3)}"
        cloudinary.api.create_upload_mapping(folder, template=f"{private.base_url}/media/")
        private.files["/media/secret.png"] = png_bytes()
        refused = delivery(cld, f"{folder}/secret.png")
        assert refused.status_code == 404
        assert "auto-upload" in refused.headers["x-cld-error"]
        assert private.hits["/media/secret.png"] == 0  # refused before connecting
    with pytest.raises(NotFound):
        cloudinary.api.resource(f"{folder}/secret")


def test_urls_outside_mapped_folders_stay_plain_404s(cld: LiveServer, origin: Origin) -> None:
    folder, media = mapped_folder(origin)
    origin.files[f"{media}/x.png"] = png_bytes()
    assert delivery(cld, f"unmapped{folder}/x.png").status_code == 404
    assert delivery(cld, f"{folder}x.png").status_code == 404  # the folder alone, no rest
    assert httpx.get(f"{cld.base_url}/{cld.cloud}/image/private/{folder}/x.png").status_code in (401, 404)
    assert delivery(cld, f"{folder}/%2E%2E/{folder}/x.png").status_code == 404  # escaped: httpx leaves it be
    assert origin.hits[f"{media}/x.png"] == 0
