"""Byte ranges on delivery: a video player seeks, a download resumes, a CDN fetches in slices.

Every delivery answer says `Accept-Ranges: bytes`; one range gets a 206 with exactly those
bytes, a range past the end a 416, anything else the whole representation.
"""

from __future__ import annotations

from pathlib import Path

import cloudinary.uploader
import cloudinary.utils
import httpx
import pytest

from support import LiveServer

RAW_BYTES = 3 * 1024 * 1024 + 17  # several storage read chunks, and not a round number


@pytest.fixture(scope="module")
def raw_payload(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ranges") / "movie.bin"
    path.write_bytes(bytes(index * 7 % 251 for index in range(RAW_BYTES)))
    return path


def _ranged(url: str, value: str, **headers: str) -> httpx.Response:
    return httpx.get(url, headers={"Range": value, **headers})


def _assert_partial(response: httpx.Response, whole: bytes, first: int, last: int) -> None:
    assert response.status_code == 206, response.headers.get("x-cld-error")
    assert response.headers["content-range"] == f"bytes {first}-{last}/{len(whole)}"
    assert response.headers["content-length"] == str(last - first + 1)
    assert response.headers["accept-ranges"] == "bytes"
    assert response.content == whole[first : last + 1]


def test_a_raw_original_is_served_in_the_ranges_asked_for(cld: LiveServer, raw_payload: Path) -> None:
    url = cloudinary.uploader.upload(str(raw_payload), resource_type="raw", public_id="ranges/movie.bin")["url"]
    whole = raw_payload.read_bytes()
    full = httpx.get(url)
    assert full.status_code == 200 and full.content == whole and full.headers["accept-ranges"] == "bytes"
    end = len(whole) - 1
    for value, first, last in [
        ("bytes=0-1023", 0, 1023),  # the start
        ("bytes=1500000-2600000", 1_500_000, 2_600_000),  # the middle, across read chunks
        (f"bytes={end - 9}-{end}", end - 9, end),  # the end
        ("bytes=3000000-", 3_000_000, end),  # open-ended
        ("bytes=-500", len(whole) - 500, end),  # the last 500 bytes
        (f"bytes=100-{end + 5000}", 100, end),  # a last byte past the end is the end
        ("bytes=-99999999", 0, end),  # a suffix longer than the blob is the whole blob
    ]:
        _assert_partial(_ranged(url, value), whole, first, last)
        assert _ranged(url, value).headers["etag"] == full.headers["etag"]
        assert _ranged(url, value).headers["cache-control"] == full.headers["cache-control"]
        assert _ranged(url, value).headers["x-content-type-options"] == "nosniff"


def test_a_range_past_the_end_is_416_with_the_size(cld: LiveServer, raw_payload: Path) -> None:
    url = cloudinary.uploader.upload(str(raw_payload), resource_type="raw", public_id="ranges/short.bin")["url"]
    for value in (f"bytes={RAW_BYTES}-", f"bytes={RAW_BYTES + 10}-{RAW_BYTES + 20}", "bytes=-0"):
        refused = _ranged(url, value)
        assert refused.status_code == 416 and refused.headers["content-range"] == f"bytes */{RAW_BYTES}", (value, refused.headers)
        assert refused.content == b""


def test_malformed_or_several_ranges_get_the_whole_file(cld: LiveServer, sample_jpg: Path) -> None:
    url = cloudinary.uploader.upload(str(sample_jpg), public_id="ranges/whole")["url"]
    whole = sample_jpg.read_bytes()
    for value in ("bytes=0-10,20-30", "bytes=50-10", "items=0-10", "bytes=-", "bytes=abc", "bytes 0-10", "bytes=" + "9" * 5000 + "-"):
        answer = _ranged(url, value)
        assert (answer.status_code, answer.content) == (200, whole), value
        assert "content-range" not in answer.headers


def test_if_range_sends_the_range_only_for_the_same_version(cld: LiveServer, sample_jpg: Path) -> None:
    url = cloudinary.uploader.upload(str(sample_jpg), public_id="ranges/if_range")["url"]
    whole = sample_jpg.read_bytes()
    etag = httpx.get(url).headers["etag"]
    _assert_partial(_ranged(url, "bytes=10-19", **{"If-Range": etag}), whole, 10, 19)
    changed = _ranged(url, "bytes=10-19", **{"If-Range": '"an-older-version"'})
    assert (changed.status_code, changed.content) == (200, whole)
    dated = _ranged(url, "bytes=10-19", **{"If-Range": "Sat, 05 Dec 2026 08:00:00 GMT"})
    assert (dated.status_code, dated.content) == (200, whole)
    # A matching If-None-Match still wins: the client has it all already.
    assert _ranged(url, "bytes=10-19", **{"If-None-Match": etag}).status_code == 304


def test_head_mirrors_the_ranged_get(cld: LiveServer, raw_payload: Path) -> None:
    url = cloudinary.uploader.upload(str(raw_payload), resource_type="raw", public_id="ranges/head.bin")["url"]
    head = httpx.head(url, headers={"Range": "bytes=100-199"})
    get = _ranged(url, "bytes=100-199")
    assert (head.status_code, head.content) == (206, b"")
    for name in ("content-range", "content-length", "etag", "cache-control", "accept-ranges", "content-type"):
        assert head.headers[name] == get.headers[name], name
    assert httpx.head(url).headers["accept-ranges"] == "bytes"
    assert httpx.head(url, headers={"Range": f"bytes={RAW_BYTES}-"}).status_code == 416


def test_a_derived_image_is_served_in_ranges_and_the_hot_path_keeps_them_apart(cld: LiveServer, sample_jpg: Path) -> None:
    cloudinary.uploader.upload(str(sample_jpg), public_id="ranges/derived")
    url = cloudinary.utils.cloudinary_url("ranges/derived", width=60, crop="scale", format="png")[0]
    whole = httpx.get(url)
    assert whole.status_code == 200 and whole.headers["accept-ranges"] == "bytes"
    assert httpx.get(url).content == whole.content  # now answered from the hot responses
    data, end = whole.content, len(whole.content) - 1
    for _ in range(2):  # the second ranged request must not be a replay of either answer
        _assert_partial(_ranged(url, "bytes=0-99"), data, 0, 99)
        _assert_partial(_ranged(url, "bytes=-20"), data, end - 19, end)
        _assert_partial(_ranged(url, "bytes=40-"), data, 40, end)
        assert _ranged(url, f"bytes={end + 1}-").status_code == 416
        again = httpx.get(url)
        assert (again.status_code, again.content) == (200, data) and "content-range" not in again.headers
    head = httpx.head(url, headers={"Range": "bytes=0-99"})
    assert (head.status_code, head.headers["content-length"], head.content) == (206, "100", b"")
    assert _ranged(url, "bytes=0-99", **{"If-Range": whole.headers["etag"]}).status_code == 206
    assert _ranged(url, "bytes=0-99", **{"If-Range": '"stale"'}).content == data


def test_query_strings_of_cloudinary_clients_are_ignored(cld: LiveServer, sample_jpg: Path) -> None:
    """The SDKs append analytics (`?_a=…`) and video players `?_s=vp`: same asset, same bytes."""
    original = cloudinary.uploader.upload(str(sample_jpg), public_id="ranges/query")["url"]
    derived = cloudinary.utils.cloudinary_url("ranges/query", width=30, crop="scale", format="webp")[0]
    for url in (original, derived):
        plain = httpx.get(url)
        assert plain.status_code == 200
        for query in ("?_s=vp", "?_a=BAMAK+cA0", "?_a=BAMAK+cA0&_s=vp", "?anything=else"):
            answer = httpx.get(url + query)
            assert (answer.status_code, answer.content, answer.headers["etag"]) == (200, plain.content, plain.headers["etag"]), query
        _assert_partial(_ranged(url + "?_s=vp", "bytes=5-9"), plain.content, 5, 9)
