"""Property-based fuzzing of a live server: transformation URLs, search expressions and
multipart upload bodies, each built from the real grammar's words plus junk.

The property is the same for all three: an answer below 500, within the timeout. A bounded
number of examples each (150, a few seconds; DARKROOM_FUZZ_EXAMPLES raises it for a long
hunt). A failing example that hypothesis finds belongs in the explicit regression lists
below, kept for good.
"""

from __future__ import annotations

import os
import secrets
import string
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import LiveServer

from tests.security import hostile
from tests.security.conftest import Attacker

FUZZ_TIMEOUT = 20.0  # seconds one fuzzed request may take
EXAMPLES = int(os.environ.get("DARKROOM_FUZZ_EXAMPLES", "150"))  # more for a long hunt, e.g. 5000
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def fuzz_target(sqlite_server: LiveServer) -> Iterator[tuple[httpx.Client, Attacker, str]]:
    """One uploaded image to transform, and a keep-alive client for the many requests."""
    attacker = Attacker(sqlite_server)
    public_id = f"sec/fuzz-{secrets.token_hex(4)}"
    response = attacker.upload(hostile.png_bomb(64, 48), public_id=public_id)
    assert response.status_code == 200, response.text
    with httpx.Client(base_url=sqlite_server.base_url, timeout=FUZZ_TIMEOUT) as client:
        yield client, attacker, public_id


def _answered(response: httpx.Response) -> None:
    assert response.status_code < 500, f"{response.status_code} for {response.request.method} {response.request.url}: {response.text[:300]}"


# ---- transformation URLs -----------------------------------------------------------------

KEYS = "a ac af ar b bo br c co cs d dl dn dpr du e eo f fl fn fps g h ki l o p pg q r so sp u vc vs w x y z t if $w $foo".split()
WORDS = [
    "0", "1", "-1", "100", "0.5", "1.0", "2.5", "999999999", "1e9", "-0", "auto", "iw", "ih", "iw_div_2", "w_mul_2",
    "fill", "fit", "pad", "crop", "thumb", "scale", "limit", "lfill", "north_east", "face", "auto:subject",
    "blur", "blur:2000", "sepia", "grayscale", "pixelate:1", "sharpen:9999", "red", "rgb:ff0000", "#fff", "transparent",
    "jpg", "png", "webp", "avif", "gif", "svg", "auto", "text:Arial_20:hi", "text:Arial_9999:x", "fetch:aHR0cDovLzEyNy4wLjAuMS8",
    "sample", "layer_apply", "lossy", "progressive", "attachment", "max", "w_gt_100", "ar_lt_1.0", "$w", "!x!",
    "10p", "5.5", "3:4", "16:9", "0:0", "80", "auto:best", "1-3", "name:x", "embedded:1", "", "_", ",", ":", "%20", "..",
]
JUNK = st.text(alphabet=string.ascii_letters + string.digits + "_:.,-!$%~()*@ ", max_size=12)
VALUE = st.one_of(st.sampled_from(WORDS), JUNK, st.integers(-(10**12), 10**12).map(str))
PARAM = st.builds(lambda key, value: f"{key}_{value}", st.sampled_from(KEYS), VALUE)
COMPONENT = st.lists(st.one_of(PARAM, JUNK), min_size=1, max_size=5).map(",".join)
CHAIN = st.lists(COMPONENT, min_size=1, max_size=4).map("/".join)
EXTENSION = st.sampled_from(["", ".png", ".jpg", ".webp", ".gif", ".avif", ".svg", ".pdf", ".mp4", ".json", ".x"])

# Examples worth keeping whatever hypothesis draws.
URL_REGRESSIONS = [
    "w_0", "h_-1", "w_1e9", "w_999999999,h_999999999,c_pad", "dpr_999", "e_blur:2000,w_2000", "a_99999", "q_0", "q_101",
    "l_text:Arial_999:hi", "l_fetch:aHR0cDovLzEyNy4wLjAuMS8", "if_w_gt_0/w_10/if_end", "t_missing", "$w_1/w_$w",
    "pg_0", "pg_99999", "fl_attachment:..%2F..%2Fx", "c_crop,x_-99999,y_-99999,w_1,h_1", "ar_0:0,c_fill,w_10",
    "z_0,c_thumb,g_face,w_10", "bo_9999px_solid_red", "r_max,w_1", "f_auto,q_auto,w_auto",
]


def _deliver(client: httpx.Client, attacker: Attacker, public_id: str, chain: str, extension: str) -> httpx.Response:
    return client.get(f"/{attacker.server.cloud}/image/upload/{chain}/{public_id}{extension}")


@pytest.mark.parametrize("chain", URL_REGRESSIONS)
def test_regression_transformation_answers_below_500(fuzz_target: tuple[httpx.Client, Attacker, str], chain: str) -> None:
    client, attacker, public_id = fuzz_target
    _answered(_deliver(client, attacker, public_id, chain, ".png"))


@FUZZ
@given(chain=CHAIN, extension=EXTENSION)
def test_fuzzed_transformation_url_answers_below_500(fuzz_target: tuple[httpx.Client, Attacker, str], chain: str, extension: str) -> None:
    client, attacker, public_id = fuzz_target
    _answered(_deliver(client, attacker, public_id, chain, extension))


# ---- search expressions -------------------------------------------------------------------

FIELDS = [
    "resource_type", "type", "public_id", "asset_id", "folder", "asset_folder", "filename", "format", "tags", "context.alt",
    "metadata.rating", "bytes", "width", "height", "aspect_ratio", "pixels", "duration", "created_at", "uploaded_at",
    "status", "etag", "version", "pages", "has_alpha", "colors", "faces", "x", "",
]
OPERATORS = [":", "=", "<", ">", "<=", ">=", ":<", "!="]
TERMS = ["image", "png", "sec/*", "*", "1m", "1.5kb", "1d", "2024-01-01", "[1 TO 2]", "[2024-01-01 TO *]", "\"a b\"", "'x'",
         "true", "-1", "1e999", "9" * 40, "(", ")", "\\", "%", "_", "NOT", "AND", "OR", "\u00e9", "\x00"]
CLAUSE = st.builds(lambda field, op, term: f"{field}{op}{term}", st.sampled_from(FIELDS), st.sampled_from(OPERATORS), st.one_of(st.sampled_from(TERMS), JUNK))
EXPRESSION = st.lists(st.one_of(CLAUSE, st.sampled_from(["AND", "OR", "NOT", "-", "(", ")", "&&", "||"]), JUNK), min_size=1, max_size=7).map(" ".join)
SORT = st.lists(st.dictionaries(st.sampled_from(FIELDS), st.sampled_from(["asc", "desc", "up", ""]), max_size=2), max_size=2)
SEARCH_BODY = st.fixed_dictionaries(
    {"expression": EXPRESSION},
    optional={
        "sort_by": SORT,
        "max_results": st.one_of(st.integers(-5, 2000), st.sampled_from(["10", "x", None])),
        "aggregate": st.lists(st.sampled_from(["format", "resource_type", "type", "bytes", "x", ""]), max_size=2),
        "with_field": st.lists(st.sampled_from(["tags", "context", "metadata", "image_metadata", "x"]), max_size=2),
        "next_cursor": st.one_of(JUNK, st.sampled_from(["", "eyJ4IjoxfQ", "a" * 300])),
    },
)

SEARCH_REGRESSIONS = [
    {"expression": "bytes>1e999"}, {"expression": "created_at>9999999999999d"}, {"expression": "((((((((((x"},
    {"expression": "tags=\x00"}, {"expression": "*", "max_results": -1}, {"expression": "", "next_cursor": "garbage"},
    {"expression": "folder:sec/* AND -format:png", "sort_by": [{"bytes": "sideways"}]}, {"expression": "width>" + "9" * 40},
]


def _search(client: httpx.Client, attacker: Attacker, body: object) -> httpx.Response:
    server = attacker.server
    return client.post(f"/v1_1/{server.cloud}/resources/search", json=body, auth=(server.api_key, server.api_secret))


@pytest.mark.parametrize("body", SEARCH_REGRESSIONS, ids=[str(b)[:40] for b in SEARCH_REGRESSIONS])
def test_regression_search_answers_below_500(fuzz_target: tuple[httpx.Client, Attacker, str], body: dict[str, object]) -> None:
    client, attacker, _ = fuzz_target
    _answered(_search(client, attacker, body))


@FUZZ
@given(body=SEARCH_BODY)
def test_fuzzed_search_answers_below_500(fuzz_target: tuple[httpx.Client, Attacker, str], body: dict[str, object]) -> None:
    client, attacker, _ = fuzz_target
    _answered(_search(client, attacker, body))


# ---- multipart upload bodies ---------------------------------------------------------------

FIELD_NAMES = ["file", "public_id", "timestamp", "signature", "api_key", "upload_preset", "tags", "context", "eager",
               "folder", "overwrite", "transformation", "resource_type", "chunk_size", "x", "", "file[]", 'a"b']
FIELD_VALUE = st.one_of(st.sampled_from(["", "1", "0", "true", "w_100", "data:image/png;base64,iVBOR", "http://127.0.0.1:1/x"]), JUNK)
FILE_BYTES = st.one_of(
    st.binary(max_size=256),
    st.sampled_from([hostile.png_bomb(4, 4), hostile.png_claiming(70_000, 70_000), hostile.gif_claiming(1, 1), b"<svg", b""]),
)


@st.composite
def multipart_bodies(draw: st.DrawFn) -> tuple[bytes, str]:
    """A multipart/form-data body, well-formed or broken in one of the usual ways."""
    boundary = draw(st.sampled_from(["b0undary", "x" * 70, "a b", "-", ""]))
    parts: list[bytes] = []
    for _ in range(draw(st.integers(0, 5))):
        name = draw(st.sampled_from(FIELD_NAMES))
        if draw(st.booleans()):
            filename = draw(st.sampled_from(["f.png", "", "../../x", "a\x00b", "é.png", "x" * 300]))
            header = f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\nContent-Type: application/octet-stream'
            body = draw(FILE_BYTES)
        else:
            header = draw(st.sampled_from([f'Content-Disposition: form-data; name="{name}"', "Content-Disposition: form-data", "X: y", ""]))
            body = draw(FIELD_VALUE).encode("utf-8", "surrogatepass")
        parts.append(f"--{boundary}\r\n{header}\r\n\r\n".encode("utf-8", "surrogatepass") + body + b"\r\n")
    ending = draw(st.sampled_from([f"--{boundary}--\r\n", f"--{boundary}", "", "--wrong--\r\n"]))
    content_type = draw(st.sampled_from([f"multipart/form-data; boundary={boundary}", "multipart/form-data", "application/json", "text/plain"]))
    return b"".join(parts) + ending.encode(), content_type


MULTIPART_REGRESSIONS = [
    (b"", "multipart/form-data; boundary=x"),
    (b"--x\r\n\r\n\r\n--x--\r\n", "multipart/form-data; boundary=x"),
    (b'--x\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\n', "multipart/form-data; boundary=x"),
    (b"--x\r\n" + b"A" * 70_000 + b"\r\n\r\n--x--\r\n", "multipart/form-data; boundary=x"),
    (b'--x\r\nContent-Disposition: form-data; name="timestamp"\r\n\r\n' + b"9" * 400 + b"\r\n--x--\r\n", "multipart/form-data; boundary=x"),
]


def _post_upload(client: httpx.Client, attacker: Attacker, body: bytes, content_type: str) -> httpx.Response:
    return client.post(f"/v1_1/{attacker.server.cloud}/image/upload", content=body, headers={"Content-Type": content_type})


@pytest.mark.parametrize(("body", "content_type"), MULTIPART_REGRESSIONS, ids=[str(i) for i in range(len(MULTIPART_REGRESSIONS))])
def test_regression_multipart_answers_below_500(fuzz_target: tuple[httpx.Client, Attacker, str], body: bytes, content_type: str) -> None:
    client, attacker, _ = fuzz_target
    _answered(_post_upload(client, attacker, body, content_type))


@FUZZ
@given(upload=multipart_bodies())
def test_fuzzed_multipart_upload_answers_below_500(fuzz_target: tuple[httpx.Client, Attacker, str], upload: tuple[bytes, str]) -> None:
    client, attacker, _ = fuzz_target
    _answered(_post_upload(client, attacker, *upload))
