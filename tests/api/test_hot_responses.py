"""Repeated image requests answered from memory: the same answers the full stack gives, never
one that a write, another Accept header or a revoked key should have changed."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import cloudinary.uploader
import cloudinary.utils
import httpx
import pyvips

from darkroom.media.lookups import LOOKUP_TTL
from darkroom.media.lookups import HotResponses
from support import LiveServer


def _url(public_id: str, **options: object) -> str:
    return cloudinary.utils.cloudinary_url(public_id, **options)[0]


def _answer(response: httpx.Response) -> tuple[int, bytes, str | None, str | None, str | None]:
    return response.status_code, response.content, response.headers.get("etag"), response.headers.get("content-type"), response.headers.get("vary")


def test_a_repeated_request_gets_the_same_answer_until_a_new_version_replaces_it(cld_sqlite: LiveServer, sample_jpg: Path, sample_png: Path) -> None:
    cloudinary.uploader.upload(str(sample_jpg), public_id="hot/picture")  # 200×150
    url = _url("hot/picture", width=50, crop="scale", format="png")  # unversioned: follows new versions
    first = httpx.get(url)
    assert first.status_code == 200 and pyvips.Image.new_from_buffer(first.content, "").height == 38
    assert [_answer(httpx.get(url)) for _ in range(3)] == [_answer(first)] * 3
    head = httpx.head(url)
    assert head.status_code == 200 and head.content == b"" and head.headers["content-length"] == str(len(first.content))
    assert httpx.get(url, headers={"If-None-Match": first.headers["etag"]}).status_code == 304
    cloudinary.uploader.upload(str(sample_png), public_id="hot/picture", overwrite=True)  # 120×80, through the server
    replaced = httpx.get(url)
    assert replaced.status_code == 200 and pyvips.Image.new_from_buffer(replaced.content, "").height == 33


def test_f_auto_answers_each_accept_header_for_itself(cld_sqlite: LiveServer, sample_jpg: Path) -> None:
    cloudinary.uploader.upload(str(sample_jpg), public_id="hot/negotiated")
    url = _url("hot/negotiated", width=40, crop="scale", fetch_format="auto")
    for _ in range(2):
        assert httpx.get(url, headers={"Accept": "image/webp,*/*"}).headers["content-type"] == "image/webp"
        assert httpx.get(url, headers={"Accept": "*/*"}).headers["content-type"] == "image/jpeg"


def test_a_hot_signed_url_stops_working_when_its_key_is_revoked_elsewhere(cld_sqlite: LiveServer, sample_jpg: Path) -> None:
    env = {**cld_sqlite.env(), "DARKROOM_DATABASE_URL": cld_sqlite.database_url}
    created = subprocess.run(
        [sys.executable, "-m", "darkroom", "keys", "create", "--cloud", cld_sqlite.cloud, "--data-dir", str(cld_sqlite.data_dir)],
        env=env, check=True, capture_output=True, text=True,
    ).stdout
    second = dict(line.split("=", 1) for line in created.split())
    cloudinary.uploader.upload(str(sample_jpg), public_id="hot/signed")
    time.sleep(LOOKUP_TTL)  # the server may have read the cloud's keys before the CLI added one
    url = _url("hot/signed", width=30, crop="scale", format="jpg", sign_url=True, api_secret=second["api_secret"])
    assert httpx.get(url).status_code == 200 and httpx.get(url).status_code == 200  # hot now
    subprocess.run(
        [sys.executable, "-m", "darkroom", "keys", "revoke", second["api_key"], "--data-dir", str(cld_sqlite.data_dir)],
        env=env, check=True, capture_output=True,
    )
    time.sleep(LOOKUP_TTL + 0.1)
    assert httpx.get(url).status_code == 401


def test_the_memory_is_bounded_and_forgets_after_its_ttl() -> None:
    memory = HotResponses(ttl=0.05, max_entries=2, max_bytes=10)
    start = {"type": "http.response.start", "status": 200, "headers": []}
    memory.keep_answer(("a",), start, b"12345")
    memory.keep_answer(("b",), start, b"12345")
    memory.keep_answer(("c",), start, b"1")  # over 10 bytes and 2 entries: the oldest goes
    assert memory.recall(("a",)) is None and memory.recall(("b",)) is not None and memory.recall(("c",)) is not None
    time.sleep(0.06)
    assert memory.recall(("b",)) is None
    memory.keep_answer(("d",), start, b"x")
    memory.forget_all()
    assert memory.recall(("d",)) is None


def _replayed_hits(server: LiveServer) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(httpx.get(f"{server.base_url}/metrics").text):
        for sample in family.samples:
            if sample.name == "darkroom_derivative_cache_hits_total" and sample.labels.get("tier") == "replay":
                return sample.value
    return 0.0


def test_refused_writes_keep_the_memory_and_accepted_ones_clear_it(cld_sqlite: LiveServer, sample_jpg: Path) -> None:
    """A stream of bad POSTs must not send every delivery back to the database."""
    cloudinary.uploader.upload(str(sample_jpg), public_id="hot/kept")
    url = _url("hot/kept", width=40, crop="scale", format="png")
    httpx.get(url)
    before = _replayed_hits(cld_sqlite)
    assert httpx.get(url).status_code == 200 and _replayed_hits(cld_sqlite) == before + 1
    refused = httpx.post(f"{cld_sqlite.base_url}/v1_1/{cld_sqlite.cloud}/image/upload", data={"api_key": "nope"})
    assert 400 <= refused.status_code < 500
    assert httpx.get(url).status_code == 200 and _replayed_hits(cld_sqlite) == before + 2  # still remembered
    cloudinary.uploader.add_tag("fresh", ["hot/kept"])  # an accepted write: forget
    assert httpx.get(url).status_code == 200 and _replayed_hits(cld_sqlite) == before + 2
