"""New video renders per process are bounded: HEADs (or GETs) of ever new variants cannot queue
unbounded transcodes. Beyond 4 x DARKROOM_VIDEO_CONCURRENCY under way or waiting, a request
for yet another variant answers 423 "Video is being processed" (what Cloudinary answers while
a video is prepared, and what its player retries) and starts nothing."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Iterator
from pathlib import Path

import cloudinary
import cloudinary.uploader
import httpx
import pytest

from support import LiveServer, ffmpeg, lavfi_sources, own_sqlite_server, sdk_pointed_at
from tests.video.media import video_url


@pytest.fixture(scope="module")
def one_at_a_time(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server transcoding one video at a time (so at most 4 queued), the SDK pointed at it."""
    for server in own_sqlite_server(tmp_path_factory, "video-queue", extra_env={"DARKROOM_VIDEO_CONCURRENCY": "1"}):
        with sdk_pointed_at(server):
            yield server


def test_heads_of_new_variants_past_the_queue_answer_423_and_start_nothing(one_at_a_time: LiveServer, tmp_path: Path) -> None:
    clip = ffmpeg(tmp_path / "clip.mp4", *lavfi_sources(), "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest")
    public_id = cloudinary.uploader.upload(str(clip), resource_type="video", public_id="queue/clip")["public_id"]
    urls = [video_url(public_id, width=200 + 2 * i, crop="scale", format="webm") for i in range(10)]
    with ThreadPoolExecutor(10) as pool:  # together, as a crawler or a burst of players would
        responses = list(pool.map(lambda url: httpx.head(url, timeout=30), urls))
    statuses = [response.status_code for response in responses]
    assert set(statuses) == {200, 423}
    assert statuses.count(200) <= 5, statuses  # 4 queued (one more if a vp9 render finished meanwhile)
    refused, answer = next((url, response) for url, response in zip(urls, responses) if response.status_code == 423)
    assert answer.headers["x-cld-error"] == "Video is being processed, please try again later"
    # Once the queue drains, the same URL renders (a player retrying gets its video).
    deadline = time.monotonic() + 60
    while (response := httpx.get(refused, timeout=60)).status_code == 423 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert response.status_code == 200 and response.headers["content-type"] == "video/webm"


def test_new_streaming_segments_past_the_queue_answer_423_and_start_nothing(one_at_a_time: LiveServer, tmp_path: Path) -> None:
    """Segments are encoded on demand, so a burst for many new ones (other renditions, other
    profiles, a crawler) is bounded the same way: 4 encodes per slot, then 423 at once."""
    clip = ffmpeg(tmp_path / "long.mp4", *lavfi_sources(seconds=40), "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest")
    public_id = cloudinary.uploader.upload(str(clip), resource_type="video", public_id="queue/long")["public_id"]
    master = video_url(public_id, streaming_profile="sd", format="m3u8")
    assert httpx.get(master, timeout=30).status_code == 200  # the ladder is worked out once, before the burst
    segments = [master.replace(".m3u8", f".m3u8/v0/{index}.m4s") for index in range(1, 11)]
    with ThreadPoolExecutor(10) as pool:
        responses = list(pool.map(lambda url: httpx.get(url, timeout=120), segments))
    statuses = [response.status_code for response in responses]
    assert set(statuses) == {200, 423}
    assert statuses.count(200) <= 5, statuses  # 4 queued (one more if an encode finished meanwhile)
    refused, answer = next((url, response) for url, response in zip(segments, responses) if response.status_code == 423)
    assert answer.headers["x-cld-error"] == "Video is being processed, please try again later"
    deadline = time.monotonic() + 60
    while (response := httpx.get(refused, timeout=60)).status_code == 423 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert response.status_code == 200 and response.content[4:8] == b"moof"
