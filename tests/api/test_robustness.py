"""Hostile and malformed requests get a clear 4xx in Cloudinary's error shape: never a 500, never a hang.

Every endpoint family is hit with input a real client could send by mistake or on purpose:
broken multipart bodies, bad ranges and URLs, absurd transformations, JSON of the wrong
shape, cursors that are not ours, NUL bytes, deep nesting. Each case asserts a status below
500 and, where the API speaks JSON errors, `{"error": {"message": …}}`. Everything targets the
local test server only and every loop is bounded in count and time.
"""

from __future__ import annotations

import base64
import json
import socket
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from typing import Any

import cloudinary.utils
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support import LiveServer, access_token

JSONish = dict[str, Any]

# ---- helpers ------------------------------------------------------------------------------


def signed(server: LiveServer, **params: str) -> dict[str, str]:
    """Upload API parameters signed as the SDK signs them (`file` is never signed)."""
    params = {**params, "timestamp": str(int(time.time()))}
    to_sign = {k: v for k, v in params.items() if k != "file"}
    return {**params, "signature": cloudinary.utils.api_sign_request(to_sign, server.api_secret), "api_key": server.api_key}


def assert_client_error(response: httpx.Response, *, status: int | None = None) -> str:
    """A 4xx with Cloudinary's JSON error body; returns the message."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    if status is not None:
        assert response.status_code == status, response.text[:300]
    message = response.json()["error"]["message"]
    assert isinstance(message, str) and message
    return message


def png_header(width: int, height: int, pixels: bytes = b"") -> bytes:
    """A PNG whose IHDR claims `width`×`height`; the IDAT holds only `pixels` (compressed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(pixels)) + chunk(b"IEND", b"")


def small_png(width: int = 12, height: int = 8) -> bytes:
    return png_header(width, height, b"".join(b"\0" + b"\x80" * (width * 3) for _ in range(height)))


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as http:
        yield http


@pytest.fixture(scope="module")
def live(sqlite_server: LiveServer, client: httpx.Client) -> LiveServer:
    """The SQLite server with one known image, `robust/control`."""
    response = client.post(
        f"{sqlite_server.base_url}/v1_1/{sqlite_server.cloud}/image/upload",
        data=signed(sqlite_server, public_id="robust/control"),
        files={"file": ("c.png", small_png(40, 30))},
    )
    assert response.status_code == 200, response.text
    return sqlite_server


def upload_url(server: LiveServer) -> str:
    return f"{server.base_url}/v1_1/{server.cloud}/image/upload"


def admin_url(server: LiveServer, path: str) -> str:
    return f"{server.base_url}/v1_1/{server.cloud}{path}"


def asset_exists(client: httpx.Client, server: LiveServer, public_id: str) -> bool:
    response = client.get(admin_url(server, f"/resources/image/upload/{public_id}"), auth=(server.api_key, server.api_secret))
    assert response.status_code in (200, 404), response.text
    return response.status_code == 200


# ---- Upload API: the body itself ---------------------------------------------------------

MULTIPART = "multipart/form-data; boundary=xyz"
BROKEN_BODIES = {
    "garbage before the boundary": (b"garbage\r\n\r\n", MULTIPART),
    "header without a colon": (b'--xyz\r\nContent-Disposition form-data\r\n\r\nv\r\n--xyz--\r\n', MULTIPART),
    "truncated inside a field": (b'--xyz\r\nContent-Disposition: form-data; name="a"\r\n\r\nval', MULTIPART),
    "no closing boundary": (b'--xyz\r\nContent-Disposition: form-data; name="a"\r\n\r\nv\r\n--xyz', MULTIPART),
    "empty multipart body": (b"", MULTIPART),
    "boundary missing": (b"x", "multipart/form-data"),
    "plain text": (b"hello", "text/plain"),
    "JSON": (b'{"file": "x"}', "application/json"),
    "no content type": (b"a=b", ""),
    "urlencoded invalid UTF-8": (b"a=%ff%fe&b=\xff", "application/x-www-form-urlencoded"),
    "urlencoded too many fields": ("&".join(f"f{i}=1" for i in range(1500)).encode(), "application/x-www-form-urlencoded"),
    "urlencoded field over 1 MB": (b"a=" + b"x" * 1_100_000, "application/x-www-form-urlencoded"),
}


@pytest.mark.parametrize("body,content_type", BROKEN_BODIES.values(), ids=list(BROKEN_BODIES))
def test_broken_upload_bodies_are_refused(live: LiveServer, client: httpx.Client, body: bytes, content_type: str) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    assert_client_error(client.post(upload_url(live), content=body, headers=headers))


def _multipart(fields: dict[str, str], file_bytes: bytes, *, close: bool) -> bytes:
    parts = [f'--xyz\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()]
    parts.append(b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="f.bin"\r\n'
                 b"Content-Type: application/octet-stream\r\n\r\n" + file_bytes)
    return b"".join(parts) + (b"\r\n--xyz--\r\n" if close else b"")


def test_a_truncated_signed_upload_stores_nothing(live: LiveServer, client: httpx.Client) -> None:
    """The body ends inside the file part: refused, not stored as a shorter file."""
    fields = signed(live, public_id="robust/truncated")
    cut = _multipart(fields, b"A" * 5000, close=False)
    message = assert_client_error(client.post(f"{live.base_url}/v1_1/{live.cloud}/raw/upload", content=cut, headers={"Content-Type": MULTIPART}))
    assert "multipart" in message.lower()
    listed = client.get(admin_url(live, "/resources/raw/upload/robust/truncated"), auth=(live.api_key, live.api_secret))
    assert listed.status_code == 404
    whole = _multipart(signed(live, public_id="robust/whole"), b"A" * 5000, close=True)
    assert client.post(f"{live.base_url}/v1_1/{live.cloud}/raw/upload", content=whole, headers={"Content-Type": MULTIPART}).status_code == 200


def test_invalid_utf8_in_multipart_names_and_values(live: LiveServer, client: httpx.Client) -> None:
    body = b'--xyz\r\nContent-Disposition: form-data; name="\xff\xfe"\r\n\r\n\xff\xfe\r\n--xyz--\r\n'
    assert_client_error(client.post(upload_url(live), content=body, headers={"Content-Type": MULTIPART}))


def test_two_files_in_one_request_are_refused(live: LiveServer, client: httpx.Client) -> None:
    file_part = b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nabc\r\n'
    body = file_part + file_part + b"--xyz--\r\n"
    assert_client_error(client.post(upload_url(live), content=body, headers={"Content-Type": MULTIPART}))


# ---- Upload API: sources and parameters --------------------------------------------------

BAD_SOURCES = [
    "data:image/png;base64,abc",
    "data:image/png;base64,!!!!@@@",
    "data:",
    "data:,%ff%fe%zz",
    "http://[::1/x",
    "http://127.0.0.1:99999/x",
    "http://127.0.0.1:notaport/x",
    "http://a..b/x",
    "http:///x",
    "http://exa\x00mple.com/x",
    "http://" + "a" * 300 + "/x",
    "ftp://127.0.0.1/x",
    "s3://bucket/key",
    "file:///etc/passwd",
    "/etc/passwd",
]


@pytest.mark.parametrize("source", BAD_SOURCES)
def test_bad_file_sources_are_refused(live: LiveServer, client: httpx.Client, source: str) -> None:
    response = client.post(upload_url(live), data=signed(live, file=source, public_id="robust/source"))
    assert_client_error(response)
    # The error header must survive client text with control characters in it.
    assert "\x00" not in response.headers.get("x-cld-error", "")


BAD_PARAMS = {
    "overwrite": "maybe",
    "context": '{"a":',
    "tags": "[1,2",
    "eager": "w_abc",
    "transformation": "w_",
    "public_id": "../../etc/passwd",
    "folder": "a/../../b",
    "type": "nope",
    "metadata": "{" * 5000,
    "responsive_breakpoints": "[" * 5000,
    "face_coordinates": "a,b,c",
    "custom_coordinates": "1,2,3,999999999999999999999",
}


@pytest.mark.parametrize("name,value", BAD_PARAMS.items(), ids=list(BAD_PARAMS))
def test_bad_upload_parameters_are_refused(live: LiveServer, client: httpx.Client, name: str, value: str) -> None:
    params = {"public_id": "robust/params", name: value}
    response = client.post(upload_url(live), data=signed(live, **params), files={"file": ("a.png", small_png())})
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert_client_error(response)


def test_an_image_claiming_huge_dimensions_is_refused_before_decoding(live: LiveServer, client: httpx.Client) -> None:
    started = time.monotonic()
    response = client.post(upload_url(live), data=signed(live, public_id="robust/huge"), files={"file": ("a.png", png_header(100_000, 100_000))})
    assert "too large" in assert_client_error(response, status=400).lower()
    assert time.monotonic() - started < 5
    assert not asset_exists(client, live, "robust/huge")


def test_a_pixel_bomb_within_the_header_limit_is_refused_quickly(live: LiveServer, client: httpx.Client) -> None:
    """20000×20000 (400 MP) of one colour compresses to a few hundred KB; the pixel limit refuses it."""
    row = b"\0" + b"\0" * (20_000 * 3)
    bomb = png_header(20_000, 20_000, row * 64)  # the IDAT is short; the header decides
    started = time.monotonic()
    assert_client_error(client.post(upload_url(live), data=signed(live, public_id="robust/bomb"), files={"file": ("b.png", bomb)}))
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("data", [small_png()[:40], small_png()[:-20], b"\x89PNG\r\n\x1a\n", b"GIF89a", b"\xff\xd8\xff"], ids=["cut-ihdr", "cut-end", "magic-only", "gif-magic", "jpeg-magic"])
def test_truncated_images_are_refused_or_render(live: LiveServer, client: httpx.Client, data: bytes) -> None:
    """libvips reads a PNG cut after its header fail-soft; either way, upload and delivery never 500."""
    response = client.post(upload_url(live), data=signed(live, public_id="robust/cut"), files={"file": ("a.png", data)})
    if response.status_code != 200:
        assert_client_error(response)
        return
    for rest in ("", "w_10/", "f_jpg/", "e_blur/"):
        assert client.get(f"{live.base_url}/{live.cloud}/image/upload/{rest}robust/cut.png").status_code < 500


def test_svg_with_script_is_never_served_as_active_content(live: LiveServer, client: httpx.Client) -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script><rect width="10" height="10"/></svg>'
    response = client.post(upload_url(live), data=signed(live, public_id="robust/script"), files={"file": ("s.svg", svg)})
    assert response.status_code == 200, response.text  # SVGs are stored; the guard is how they are served
    if response.status_code >= 400:
        assert_client_error(response)
        return
    served = client.get(f"{live.base_url}/{live.cloud}/image/upload/robust/script.svg")
    assert served.status_code == 200
    assert b"<script" in served.content  # the original, byte for byte: so the headers below are what protect
    if b"<script" in served.content:
        policy = served.headers.get("content-security-policy", "")
        assert "sandbox" in policy and "script-src" not in policy.replace("default-src 'none'", "")
        assert served.headers.get("x-content-type-options") == "nosniff"


def test_every_delivery_forbids_content_sniffing(live: LiveServer, client: httpx.Client) -> None:
    """Originals and derivatives, GET, HEAD and 304 alike: the browser takes our content type."""
    assert client.post(upload_url(live), data=signed(live, public_id="robust/nosniff"), files={"file": ("n.png", small_png())}).status_code == 200
    for rest in ("", "w_5/", "w_5/"):  # original; a miss; the same derivative again (a hit)
        url = f"{live.base_url}/{live.cloud}/image/upload/{rest}robust/nosniff.png"
        for response in (client.get(url), client.head(url)):
            assert response.status_code == 200 and response.headers.get("x-content-type-options") == "nosniff", (url, response.headers)
        revalidated = client.get(url, headers={"If-None-Match": client.get(url).headers["etag"]})
        assert revalidated.status_code == 304 and revalidated.headers.get("x-content-type-options") == "nosniff"


def test_svg_entity_expansion_is_refused(live: LiveServer, client: httpx.Client) -> None:
    entities = '<!ENTITY a "aaaaaaaaaa">' + "".join(f'<!ENTITY {b} "{("&" + a + ";") * 10}">' for a, b in zip("abcde", "bcdef"))
    svg = f'<?xml version="1.0"?><!DOCTYPE x [{entities}]><svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"><text>&f;</text></svg>'
    started = time.monotonic()
    response = client.post(upload_url(live), data=signed(live, public_id="robust/lol"), files={"file": ("l.svg", svg.encode())})
    assert response.status_code < 500 and time.monotonic() - started < 10


# ---- chunked uploads ---------------------------------------------------------------------

BAD_CHUNKS = {
    "offset past 64 bits": ("bytes 99999999999999999999-99999999999999999999/*", "abc", b"x"),
    "offset at 2**63": ("bytes 9223372036854775808-9223372036854775808/-1", "abc", b"x"),
    "offset past the byte limit": ("bytes 20000000000-20000000000/-1", "abc", b"x"),
    "not a range": ("bytes zz", "abc", b"x"),
    "end before start": ("bytes 5-1/10", "abc", b"x"),
    "end past total": ("bytes 0-10/5", "abc", b"x"),
    "size does not match": ("bytes 0-9/10", "abc", b"xy"),
    "upload id with a path": ("bytes 0-0/1", "../../x", b"x"),
    "upload id too long": ("bytes 0-0/1", "a" * 200, b"x"),
    "upload id missing": ("bytes 0-0/1", "", b"x"),
}


@pytest.mark.parametrize("content_range,upload_id,data", BAD_CHUNKS.values(), ids=list(BAD_CHUNKS))
def test_bad_chunks_are_refused(live: LiveServer, client: httpx.Client, content_range: str, upload_id: str, data: bytes) -> None:
    headers = {"Content-Range": content_range, "X-Unique-Upload-Id": upload_id}
    response = client.post(upload_url(live), data=signed(live, public_id="robust/chunk"), files={"file": ("c.bin", data)}, headers=headers)
    assert_client_error(response, status=400)


def test_a_chunk_without_a_file_part_is_refused(live: LiveServer, client: httpx.Client) -> None:
    headers = {"Content-Range": "bytes 0-0/1", "X-Unique-Upload-Id": "abc"}
    assert_client_error(client.post(upload_url(live), data=signed(live, file="data:,x"), headers=headers), status=400)


# ---- authentication garbage --------------------------------------------------------------

AUTH_HEADERS = ["Basic", "Basic !!!", "Basic " + base64.b64encode(b"nocolon").decode(), "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),
                "Bearer x", "Basic " + "A" * 10_000, "Digest x=y"]


@pytest.mark.parametrize("header", AUTH_HEADERS, ids=range(len(AUTH_HEADERS)))
def test_basic_auth_garbage_is_refused(live: LiveServer, client: httpx.Client, header: str) -> None:
    assert_client_error(client.get(admin_url(live, "/resources/image"), headers={"Authorization": header}), status=401)
    assert_client_error(client.post(upload_url(live), headers={"Authorization": header}, files={"file": ("a.png", small_png())}))


@pytest.mark.parametrize("timestamp", ["abc", "9" * 400, "-1", "1e9", ""])
def test_bad_timestamps_are_refused(live: LiveServer, client: httpx.Client, timestamp: str) -> None:
    params = {"timestamp": timestamp, "signature": "x" * 40, "api_key": live.api_key}
    assert_client_error(client.post(upload_url(live), data=params, files={"file": ("a.png", small_png())}))


UNKNOWN_CLOUD = [
    ("POST", "/v1_1/nope/image/upload"), ("POST", "/v1_1/nope/image/destroy"), ("GET", "/v1_1/nope/resources/image"),
    ("POST", "/v1_1/nope/resources/search"), ("GET", "/v1_1/nope/folders"), ("GET", "/v1_1/nope/image/generate_archive"),
    ("GET", "/nope/image/upload/robust/control.png"), ("GET", "/nope/search/a/300/eyJ4IjoxfQ"), ("GET", "/v1_1/nope/image/sprite?tag=x"),
]


@pytest.mark.parametrize("method,path", UNKNOWN_CLOUD)
def test_unknown_clouds_everywhere(live: LiveServer, client: httpx.Client, method: str, path: str) -> None:
    response = client.request(method, live.base_url + path, auth=(live.api_key, live.api_secret), files={"file": ("a", b"x")} if method == "POST" and "upload" in path else None)
    assert_client_error(response)


# ---- delivery ----------------------------------------------------------------------------

DELIVERY_PATHS = [
    "w_100000,h_100000/robust/control.png", "w_100000,h_100000,c_scale/robust/control.jpg", "dpr_99/robust/control.png",
    "w_100,dpr_99/robust/control.png", "/".join(["w_10"] * 500) + "/robust/control.png", ",".join(["e_blur"] * 2000) + "/robust/control.png",
    "w_" + "9" * 400 + "/robust/control.png", "w_nan/robust/control.png", "w_inf/robust/control.png", "w_1.5e308/robust/control.png",
    "w_-100/robust/control.png", "q_9999/robust/control.png", "a_1e308/robust/control.png", "$x_(((((/robust/control.png",
    "$a_1,$b_$a_mul_$a_pow_999/w_$b/robust/control.png", "l_text:Arial_99999:hi/robust/control.png", "l_robust:nope/robust/control.png",
    "t_nope/robust/control.png", "c_pad,w_20000,h_20000/robust/control.png", "u_robust:control,w_99999,h_99999/robust/control.png",
    "ar_0:0,c_fill,w_100/robust/control.png", "h_100,ar_99999:1,c_fill/robust/control.png", "pg_999999/robust/control.png",
    "z_99999,c_crop/robust/control.png", "e_pixelate:99999999/robust/control.png", "b_rgb:zzzzzz/robust/control.png",
    "w_100/robust/control.zzz", "w_100/robust/control.png%00", "f_png%00/robust/control.png", "robust/control.png%00",
    "%ff%fe/robust/control.png", "robust/%ff.png", "robust/..%2f..%2fetc/passwd", "%2e%2e/%2e%2e/x.png", "s--AAAAAAAA--/robust/control.png",
    "v99999999999999999999999999/robust/control.png", "fl_attachment:%E2%98%83/robust/control.png", "fl_attachment:a%0dSet-Cookie:x/robust/control.png",
    "", "%2F", "x_y/robust/control.png",
]


@pytest.mark.parametrize("rest", DELIVERY_PATHS, ids=range(len(DELIVERY_PATHS)))
def test_absurd_delivery_urls_are_refused_or_served(live: LiveServer, client: httpx.Client, rest: str) -> None:
    started = time.monotonic()
    response = client.get(f"{live.base_url}/{live.cloud}/image/upload/{rest}")
    assert response.status_code < 500, response.text[:300]
    if response.status_code >= 400 and response.headers.get("content-type", "").startswith("application/json"):
        assert_client_error(response)
        assert response.headers.get("x-cld-error")
    assert time.monotonic() - started < 10


RAW_PATHS = [
    "/{cloud}/image/upload%2Fx.png", "/{cloud}%2Fimage/upload/robust/control.png", "/{cloud}/image%2Fupload/robust/control.png",
    "/{cloud}/image/upload/%zz%/robust/control.png", "/{cloud}/image/upload/../../../../etc/passwd", "/{cloud}/image/upload/a//b",
    "/{cloud}/nope/upload/x.png", "/{cloud}/image/nope/x.png", "/{cloud}/video/upload/w_100/robust/control.mp4", "/{cloud}/raw/upload/%00",
]


def _raw_get(server: LiveServer, target: str, extra: bytes = b"") -> tuple[int, bytes]:
    """One request exactly as written (no client-side normalisation of the path)."""
    host, port = server.host.split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: {server.host}\r\n".encode("latin-1") + extra + b"Connection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    status_line = data.split(b"\r\n", 1)[0]
    return int(status_line.split()[1]), data


@pytest.mark.parametrize("template", RAW_PATHS)
def test_raw_delivery_paths(live: LiveServer, template: str) -> None:
    status, _ = _raw_get(live, template.format(cloud=live.cloud))
    assert status < 500


def test_garbage_request_headers_on_delivery(live: LiveServer, client: httpx.Client) -> None:
    status, _ = _raw_get(live, f"/{live.cloud}/image/upload/robust/control.png", b"If-None-Match: \xff\xfe\r\nAccept: \xff\r\n")
    assert status < 500
    hints = {"Accept": "image/*;q=abc, ;;;,,", "DPR": "nan", "Width": "inf", "Sec-CH-Width": "-1", "Viewport-Width": "1e999", "Save-Data": "on; x"}
    for rest in ("f_auto,q_auto/robust/control.png", "w_auto,dpr_auto/robust/control.png", "w_auto:100:400/robust/control.png"):
        assert client.get(f"{live.base_url}/{live.cloud}/image/upload/{rest}", headers=hints).status_code < 500


# ---- Admin API ---------------------------------------------------------------------------

ADMIN_ROUTES = [
    ("GET", "/resources"), ("DELETE", "/resources"), ("GET", "/resources/by_asset_ids"), ("GET", "/resources/by_asset_folder"),
    ("POST", "/resources/restore"), ("GET", "/resources/image/tags/x"), ("DELETE", "/resources/image/tags/x"),
    ("GET", "/resources/image/context"), ("GET", "/resources/image/moderations/manual/pending"), ("POST", "/resources/image/upload/restore"),
    ("GET", "/resources/image/upload/robust/control"), ("POST", "/resources/image/upload/robust/control"), ("GET", "/resources/image/upload"),
    ("DELETE", "/resources/image/upload"), ("GET", "/resources/image"), ("POST", "/resources/image/metadata"), ("GET", "/usage/xx-yy"),
    ("DELETE", "/derived_resources"), ("GET", "/tags/image"), ("GET", "/upload_presets"), ("POST", "/upload_presets"),
    ("PUT", "/upload_presets/x"), ("GET", "/folders"), ("GET", "/folders/a/b"), ("POST", "/folders/a%2F..%2Fb"), ("PUT", "/folders/a"),
    ("DELETE", "/folders/zz-none"), ("GET", "/transformations"), ("POST", "/transformations"), ("PUT", "/transformations"),
    ("DELETE", "/transformations"), ("POST", "/metadata_fields"), ("PUT", "/metadata_fields/order"), ("PUT", "/metadata_fields/x"),
    ("PUT", "/metadata_fields/x/datasource"), ("POST", "/metadata_fields/x/datasource/order"), ("POST", "/streaming_profiles"),
    ("PUT", "/streaming_profiles/x"), ("GET", "/resources/search"), ("POST", "/resources/search"), ("GET", "/folders/search"),
    ("POST", "/folders/search"), ("POST", "/image/generate_archive"),
]
WRITE_ROUTES = [(m, p) for m, p in ADMIN_ROUTES if m != "GET"]
BAD_BODIES = [b"[]", b'"text"', b"null", b"5", b"{", b"\xff\xfe{", b"[" * 50_000, b'{"a": "\\u0000"}', b'{"a": ' * 3000]


@pytest.mark.parametrize("method,path", WRITE_ROUTES)
def test_admin_bodies_of_the_wrong_shape(live: LiveServer, client: httpx.Client, method: str, path: str) -> None:
    for body in BAD_BODIES:
        response = client.request(method, admin_url(live, path), content=body, headers={"Content-Type": "application/json"}, auth=(live.api_key, live.api_secret))
        assert response.status_code < 500, (body[:20], response.text[:300])
        if response.status_code >= 400:
            assert_client_error(response)


# The parameters the Admin and Search handlers read, and values of every JSON type for them.
PARAM_NAMES = [
    "access_mode", "aggregate", "all", "asset_folder", "asset_ids", "context", "derived_resource_ids", "direction", "display_name",
    "expression", "external_ids", "fields", "keep_original", "key", "max_results", "metadata", "moderation_status", "name",
    "next_cursor", "prefix", "public_ids", "sort_by", "start_at", "tags", "to_folder", "transformation", "transformations",
    "type", "value", "values", "with_field", "representations", "settings", "order_by", "unsigned",
]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(10**30), max_value=10**30) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(route=st.sampled_from(ADMIN_ROUTES), params=st.dictionaries(st.sampled_from(PARAM_NAMES), json_values, min_size=1, max_size=4))
def test_admin_parameters_of_any_json_type(live: LiveServer, client: httpx.Client, route: tuple[str, str], params: JSONish) -> None:
    method, path = route
    auth = (live.api_key, live.api_secret)
    if method == "GET":
        query = [(f"{k}[]" if isinstance(v, list) else k, json.dumps(v) if isinstance(v, dict) else str(item))
                 for k, v in params.items() for item in (v if isinstance(v, list) else [v])]
        response = client.get(admin_url(live, path), params=query, auth=auth)
    else:
        body = {"public_ids": ["robust/zz-none"], "name": "zz-none", **params} if method == "DELETE" else params
        response = client.request(method, admin_url(live, path), json=body, auth=auth)
    assert response.status_code < 500, (route, params, response.text[:300])


FOREIGN_CURSORS = ["abc", "!!!", "AAAA", "eyJ4IjoxfQ", "eyJ4IjoxfQ==", "a" * 5000, "-1", "ffffffffffffffffffffffffffffffff", "%00", "0x10"]
CURSOR_ROUTES = [("GET", "/resources/image"), ("GET", "/resources/image/upload"), ("GET", "/tags/image"), ("GET", "/folders"),
                 ("GET", "/upload_presets"), ("GET", "/folders/search"), ("POST", "/resources/search"), ("DELETE", "/resources/image/upload"),
                 ("GET", "/resources/image/tags/x"), ("GET", "/transformations"), ("GET", "/metadata_fields")]


@pytest.mark.parametrize("method,path", CURSOR_ROUTES)
def test_cursors_that_are_not_ours(live: LiveServer, client: httpx.Client, method: str, path: str) -> None:
    auth = (live.api_key, live.api_secret)
    for cursor in FOREIGN_CURSORS:
        if method == "GET":
            response = client.get(admin_url(live, path), params={"next_cursor": cursor}, auth=auth)
        else:
            response = client.request(method, admin_url(live, path), json={"next_cursor": cursor, "prefix": "robust/zz-none/"}, auth=auth)
        assert response.status_code < 500, (cursor[:20], response.text[:300])
        if response.status_code >= 400:
            assert_client_error(response)


def test_huge_derived_ids_and_cursor_offsets(live: LiveServer, client: httpx.Client) -> None:
    auth = (live.api_key, live.api_secret)
    for ids in ([10**30], ["99999999999999999999"], [1.5], [-1]):
        response = client.request("DELETE", admin_url(live, "/derived_resources"), json={"derived_resource_ids": ids}, auth=auth)
        assert response.status_code < 500, response.text
    response = client.request("DELETE", admin_url(live, "/resources/image/upload"), json={"prefix": "zz/", "next_cursor": "f" * 40}, auth=auth)
    assert_client_error(response, status=400)


def test_context_listing_with_a_nul_key(live: LiveServer, client: httpx.Client) -> None:
    response = client.get(admin_url(live, "/resources/image/context"), params={"key": "a\x00b"}, auth=(live.api_key, live.api_secret))
    assert_client_error(response, status=400)


# ---- Search API --------------------------------------------------------------------------

EXPRESSIONS = ["(", ")", "((((a", '"', "'", 'tags="x', "a AND", "AND", "NOT", "x:", ":x", "created_at>abc", "bytes>1e999",
               "bytes>99999999999999999999999", "bytes<-99999999999999999999999", "width=99999999999999999999", "(" * 3000 + ")" * 3000,
               "a" * 50_000, "folder:..", "tags:\\", "context.\x01=1", "uploaded_at:[1 TO", "resource_type:image AND (format:png OR",
               "\u2603=\u2603", "width>-1e308", "aspect_ratio=1:0", "public_id:\x00"]


@pytest.mark.parametrize("expression", EXPRESSIONS, ids=range(len(EXPRESSIONS)))
def test_search_expressions_that_do_not_parse(live: LiveServer, client: httpx.Client, expression: str) -> None:
    auth = (live.api_key, live.api_secret)
    for path in ("/resources/search", "/folders/search"):
        response = client.post(admin_url(live, path), json={"expression": expression}, auth=auth)
        assert response.status_code < 500, (path, response.text[:300])
        if response.status_code >= 400:
            assert_client_error(response)


@pytest.mark.parametrize("field,value", [("sort_by", 5), ("sort_by", True), ("sort_by", ["{bad"]), ("sort_by", "[" * 5000), ("aggregate", "{bad"),
                                         ("aggregate", [5]), ("aggregate", [{"type": "bytes", "ranges": "x"}]), ("max_results", "abc"),
                                         ("max_results", 10**30), ("with_field", {"a": 1}), ("fields", 5)])
def test_search_parameters_of_the_wrong_shape(live: LiveServer, client: httpx.Client, field: str, value: Any) -> None:
    response = client.post(admin_url(live, "/resources/search"), json={field: value}, auth=(live.api_key, live.api_secret))
    assert response.status_code < 500, response.text[:300]
    if response.status_code >= 400:
        assert_client_error(response)


def test_signed_search_urls_with_garbage(live: LiveServer, client: httpx.Client) -> None:
    for rest in ("abc/300/!!!", "abc/xyz/eyJ4IjoxfQ", "abc/300/eyJ4IjoxfQ/%00", "a" * 64 + "/300/" + "A" * 5000):
        assert_client_error(client.get(f"{live.base_url}/{live.cloud}/search/{rest}"))


# ---- /api/sign and the media store -------------------------------------------------------

SIGN_BODIES = [b"", b"[]", b'"x"', b"null", b"{", b"[" * 100_000, b'{"paramsToSign": []}', b'{"paramsToSign": {"a": {"b": 1}}}', b"\xff\xfe"]


@pytest.mark.parametrize("body", SIGN_BODIES, ids=range(len(SIGN_BODIES)))
def test_sign_endpoint_bodies(live: LiveServer, client: httpx.Client, body: bytes) -> None:
    for headers in ({}, {"Authorization": "Bearer nope", "Content-Type": "application/json"}):
        assert_client_error(client.post(f"{live.base_url}/api/sign", content=body, headers=headers))


@pytest.mark.parametrize("suffix", ["", "?directory=..%2F..", "?limit=abc&offset=-1", "?limit=99999999999999999999", "?directory=%00", "/%2e%2e", "/a%00b"])
def test_media_store_garbage(live: LiveServer, client: httpx.Client, suffix: str) -> None:
    for method in ("GET", "DELETE", "POST"):
        response = client.request(method, f"{live.base_url}/api/cloudinary/media{suffix}", headers={"Authorization": "Bearer nope"})
        assert response.status_code < 500, response.text[:300]


# ---- hangs: stalled clients must not stall anyone else ------------------------------------


def _stall(server: LiveServer, payload: bytes, hold: float, done: threading.Event) -> None:
    host, port = server.host.split(":")
    with socket.create_connection((host, int(port)), timeout=hold + 5) as sock:
        sock.sendall(payload)
        done.wait(hold)


def _health_time(server: LiveServer) -> float:
    started = time.monotonic()
    assert httpx.get(f"{server.base_url}/health", timeout=5).status_code == 200
    return time.monotonic() - started


STALLS = {
    "headers never finished": b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ",
    "upload body shorter than Content-Length": b"POST /v1_1/demo/image/upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=xyz\r\n"
                                               b"Content-Length: 10000000000\r\n\r\n--xyz\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv",
    "JSON body shorter than Content-Length": b"POST /api/sign HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{\"a\":",
    "admin body shorter than Content-Length": b"POST /v1_1/demo/resources/search HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n{",
}


@pytest.mark.parametrize("payload", STALLS.values(), ids=list(STALLS))
def test_a_stalled_client_does_not_stall_the_server(live: LiveServer, payload: bytes) -> None:
    done = threading.Event()
    stallers = [threading.Thread(target=_stall, args=(live, payload, 3.0, done), daemon=True) for _ in range(5)]
    for thread in stallers:
        thread.start()
    try:
        time.sleep(0.3)
        assert max(_health_time(live) for _ in range(3)) < 1.0
    finally:
        done.set()
        for thread in stallers:
            thread.join(timeout=10)
    assert _health_time(live) < 1.0


# ---- NUL: PostgreSQL refuses it in text, so it must be refused before any query (both databases) ----

NUL_PATHS = ["/{cloud}/image/upload/a%00b.png", "/{cloud}/image/upload/w_10/x.png%00", "/de%00mo/image/upload/x.png",
             "/v1_1/{cloud}/resources/image/upload/a%00b", "/v1_1/{cloud}/resources/image/tags/a%00b", "/v1_1/{cloud}/folders/a%00b",
             "/v1_1/{cloud}/upload_presets/a%00b", "/v1_1/{cloud}/metadata_fields/a%00b", "/v1_1/de%00mo/resources/image",
             "/de%00mo/search/a/300/eyJ4IjoxfQ"]


def test_nul_characters_in_paths_fields_and_credentials(server: LiveServer) -> None:
    auth = (server.api_key, server.api_secret)
    with httpx.Client(timeout=30) as http:
        for template in NUL_PATHS:
            for method in ("GET", "DELETE"):
                response = http.request(method, server.base_url + template.format(cloud=server.cloud), auth=auth)
                assert response.status_code < 500, (method, template, response.text[:200])
        for name in ("tags", "context", "display_name", "asset_folder", "filename_override", "upload_preset", "public_id"):
            response = http.post(upload_url(server), data=signed(server, **{"public_id": "robust/nul", name: "a\x00b"}), files={"file": ("a.png", small_png())})
            assert_client_error(response, status=400)
        for action, params in [("destroy", {"public_id": "a\x00b"}), ("tags", {"command": "add", "tag": "a\x00b", "public_ids": "x"}),
                               ("explicit", {"public_id": "\x00"}), ("sprite", {"tag": "\x00"}), ("explode", {"public_id": "\x00"})]:
            assert_client_error(http.post(f"{server.base_url}/v1_1/{server.cloud}/image/{action}", data=signed(server, **params)), status=400)
        body = b"".join(f'--xyz\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in signed(server).items())
        body += b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a\x00b.png"\r\n\r\n' + small_png() + b"\r\n--xyz--\r\n"
        assert_client_error(http.post(upload_url(server), content=body, headers={"Content-Type": MULTIPART}), status=400)
        assert_client_error(http.get(admin_url(server, "/resources/image"), auth=("a\x00b", "x")), status=401)
        for params in ({"expression": "tags=a\x00b"}, {"next_cursor": "a\x00b"}, {"prefix": "\x00"}):
            assert_client_error(http.post(admin_url(server, "/resources/search"), json=params, auth=auth), status=400)
        assert_client_error(http.get(admin_url(server, "/resources/image/context"), params={"key": "a\x00"}, auth=auth), status=400)


# ---- Upload API: any signed parameter with any value ---------------------------------------

UPLOAD_PARAMS = [
    "public_id", "folder", "asset_folder", "display_name", "tags", "context", "metadata", "overwrite", "unique_filename", "use_filename",
    "use_filename_as_display_name", "filename_override", "invalidate", "type", "access_mode", "format", "transformation", "eager",
    "eager_async", "responsive_breakpoints", "face_coordinates", "custom_coordinates", "regions", "colors", "faces", "phash",
    "image_metadata", "media_metadata", "quality_analysis", "moderation", "notification_url", "return_delete_token", "backup",
    "discard_original_filename", "upload_preset", "auto_tagging", "categorization", "background_removal", "detection", "async",
    "allowed_formats", "headers", "proxy", "raw_convert", "ocr", "exif", "accessibility_analysis", "visual_search", "public_id_prefix",
]
form_text = st.one_of(
    st.sampled_from(["", "0", "1", "true", "-1", "99999999999999999999", "1e308", "nan", "[", "{", "[]", "{}", "a=b|c", "w_100",
                     "w_0", "c_fill,w_99999,h_99999", "../x", "a/b/", "/", "png", "zzz", "x" * 300, "[{}]", '{"a": [1]}']),
    st.text(max_size=30),
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(params=st.dictionaries(st.sampled_from(UPLOAD_PARAMS), form_text, min_size=1, max_size=4),
       resource_type=st.sampled_from(["image", "raw", "auto", "video"]))
def test_signed_uploads_with_any_parameters(live: LiveServer, client: httpx.Client, params: dict[str, str], resource_type: str) -> None:
    params = {"public_id": "robust/fuzz", **params}
    response = client.post(f"{live.base_url}/v1_1/{live.cloud}/{resource_type}/upload", data=signed(live, **params), files={"file": ("a.png", small_png())})
    assert response.status_code < 500, (params, response.text[:300])
    if response.status_code >= 400:
        assert_client_error(response)


# ---- the media store, signed in ------------------------------------------------------------


@pytest.fixture(scope="module")
def media_token(live: LiveServer) -> str:
    return access_token(live, "media", "robustness")


MEDIA_QUERIES = ["", "?directory=/", "?directory=a//b", "?limit=abc&offset=-1", "?limit=99999999999999999999", "?limit=-5", "?offset=abc",
                 "?offset=!!!", "?offset=eyJ4IjoxfQ", "?offset=99999999999999999999", "?filesOnly=maybe", "?directory=%ff%fe",
                 "?directory=a%0d%0ab", "?directory=..%2F..", "?directory=%5c", "?directory=" + "a/" * 500]


@pytest.mark.parametrize("query", MEDIA_QUERIES, ids=range(len(MEDIA_QUERIES)))
def test_media_store_listing_with_garbage(live: LiveServer, client: httpx.Client, media_token: str, query: str) -> None:
    response = client.get(f"{live.base_url}/api/cloudinary/media{query}", headers={"Authorization": f"Bearer {media_token}"})
    assert response.status_code < 500, response.text[:300]
    if response.status_code == 400:
        assert response.json()["message"]


@pytest.mark.parametrize("fields", [{"directory": "../x"}, {"directory": "a//b"}, {"filename": "../../x.png"}, {"directory": "a" * 1000}, {"directory": "x\\y"}])
def test_media_store_uploads_with_garbage(live: LiveServer, client: httpx.Client, media_token: str, fields: dict[str, str]) -> None:
    response = client.post(f"{live.base_url}/api/cloudinary/media", data=fields, files={"file": ("a.png", small_png())},
                           headers={"Authorization": f"Bearer {media_token}"})
    assert response.status_code < 500, response.text[:300]
    cut = client.post(f"{live.base_url}/api/cloudinary/media", content=b"--x\r\n", headers={"Authorization": f"Bearer {media_token}", "Content-Type": "multipart/form-data; boundary=x"})
    assert cut.status_code == 400


# ---- metadata fields: a definition that cannot be applied is refused up front ------------------


def test_metadata_rules_and_values_that_cannot_apply(live: LiveServer, client: httpx.Client) -> None:
    auth = (live.api_key, live.api_secret)
    for rule in ({"type": "strlen", "min": "a"}, {"type": "strlen", "max": [1]}, {"type": "and", "rules": 5}):
        field = {"type": "string", "external_id": "robust_rule", "label": "Robust rule", "validation": rule}
        assert_client_error(client.post(admin_url(live, "/metadata_fields"), json=field, auth=auth), status=400)
    field = {"type": "set", "external_id": "robust_set", "label": "Robust set", "datasource": {"values": [{"external_id": "a", "value": "A"}]}}
    assert client.post(admin_url(live, "/metadata_fields"), json=field, auth=auth).status_code in (200, 409)
    for value in ('robust_set=[[[]]]', 'robust_set=[{"a": 1}]', "robust_set=[1, 2]", "robust_set=[\"a\""):
        response = client.post(upload_url(live), data=signed(live, public_id="robust/meta", metadata=value), files={"file": ("a.png", small_png())})
        assert_client_error(response, status=400)


# ---- a body that stops half-way ends with 408 instead of holding its handler forever ----------


def test_a_stalled_body_times_out_with_408() -> None:
    """Driven in-process with a short limit: the live server's limit is a minute."""
    import anyio
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from darkroom.api.errors import exception_handlers
    from darkroom.api.guards import BodyIdleTimeout

    async def echo(request: Request) -> JSONResponse:
        return JSONResponse({"bytes": len(await request.body())})

    app = Starlette(routes=[Route("/", echo, methods=["POST"])], exception_handlers=exception_handlers,  # type: ignore[arg-type]
                    middleware=[Middleware(BodyIdleTimeout, seconds=0.2)])

    async def call(chunks: list[bytes], stall: bool) -> tuple[int, bytes]:
        sent: list[dict[str, Any]] = []
        pending = list(chunks)

        async def receive() -> dict[str, Any]:
            if pending:
                return {"type": "http.request", "body": pending.pop(0), "more_body": bool(pending) or stall}
            await anyio.sleep(3600 if stall else 0)
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": "/", "raw_path": b"/", "query_string": b"", "headers": [], "http_version": "1.1"}
        with anyio.fail_after(5):
            await app(scope, receive, send)
        return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])

    status, body = anyio.run(call, [b"abc"], True)
    assert status == 408 and b"stalled" in body
    status, body = anyio.run(call, [b"abc", b"def"], False)
    assert status == 200 and json.loads(body) == {"bytes": 6}


@pytest.mark.parametrize("name", ["timestamp", "signature", "api_key", "public_id", "upload_preset", "eager", "tags[]", "context"])
def test_duplicated_upload_fields(live: LiveServer, client: httpx.Client, name: str) -> None:
    """A repeated field is joined with `,` (as `name[]` lists are), so the request no longer verifies: a 4xx."""
    params: dict[str, Any] = signed(live, public_id="robust/dup")
    params[name] = [params.get(name, "zz"), "yy"]
    assert_client_error(client.post(upload_url(live), data=params, files={"file": ("a.png", small_png())}))


# ---- races: the same public_id uploaded at once -------------------------------------------------


@pytest.mark.parametrize("overwrite", ["0", "1"])
def test_concurrent_uploads_of_one_public_id(server: LiveServer, overwrite: str) -> None:
    """Look-up then insert raced: the loser hit the unique index and answered 500."""
    public_id = f"robust/race-{overwrite}-{time.monotonic_ns()}"
    statuses: list[int] = []

    def upload(width: int) -> None:
        response = httpx.post(upload_url(server), data=signed(server, public_id=public_id, overwrite=overwrite),
                              files={"file": ("a.png", small_png(width, 8))}, timeout=60)
        statuses.append(response.status_code)

    threads = [threading.Thread(target=upload, args=(10 + i % 5,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert statuses == [200] * 16


@pytest.mark.parametrize("what", ["upload_presets", "transformations", "metadata_fields", "streaming_profiles", "folders"])
def test_concurrent_creates_of_one_name(server: LiveServer, what: str) -> None:
    """Check-then-insert races end in 409 like any duplicate, never in the unique index's 500."""
    name = f"race{time.monotonic_ns() % 10**9}"
    bodies = {"upload_presets": {"name": name, "unsigned": True}, "transformations": {"name": name, "transformation": "w_10"},
              "metadata_fields": {"type": "string", "external_id": name, "label": name},
              "streaming_profiles": {"name": name, "representations": [{"transformation": "w_10"}]}, "folders": None}
    url = admin_url(server, f"/folders/{name}/sub" if what == "folders" else f"/{what}")
    statuses: list[int] = []

    def create() -> None:
        statuses.append(httpx.post(url, json=bodies[what], auth=(server.api_key, server.api_secret), timeout=60).status_code)

    threads = [threading.Thread(target=create) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    if what == "folders":  # creating a folder that appeared meanwhile may also answer 200
        assert set(statuses) <= {200, 409} and 200 in statuses, statuses
    else:
        assert sorted(statuses) == [200] + [409] * 11, statuses
