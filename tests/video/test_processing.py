"""A transcode longer than a request waits: 423 "being processed" (as Cloudinary answers, and its
player retries), the render goes on, and the retry gets the video."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import cloudinary
import cloudinary.uploader
import httpx
import pytest

from support import LiveServer, configure_sdk, ffmpeg, lavfi_sources, make_bucket, own_sqlite_server, s3_url
from tests.video.media import probe, video_url


@pytest.fixture(scope="module")
def impatient(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server that waits for no transcode (DARKROOM_VIDEO_WAIT=0)."""
    yield from own_sqlite_server(tmp_path_factory, "video-wait", extra_env={"DARKROOM_VIDEO_WAIT": "0"})


def test_a_long_transcode_answers_423_then_the_video(impatient: LiveServer, tmp_path: Path) -> None:
    configure_sdk(impatient)
    try:
        clip = ffmpeg(tmp_path / "clip.mp4", *lavfi_sources(seconds=1), "-c:v", "libx264", "-c:a", "aac", "-shortest")
        public_id = cloudinary.uploader.upload(str(clip), resource_type="video", public_id="waiting/clip")["public_id"]
        url = video_url(public_id, width=120, format="webm")
        first = httpx.get(url)
        assert first.status_code == 423
        assert first.headers["x-cld-error"].startswith("Video is being processed")
        deadline = time.monotonic() + 30
        while (answer := httpx.get(url)).status_code == 423 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert answer.status_code == 200
        (tmp_path / "out.webm").write_bytes(answer.content)
        assert probe(tmp_path / "out.webm").width == 120
    finally:
        cloudinary.reset_config()


def test_renders_of_a_video_kept_in_s3(tmp_path_factory: pytest.TempPathFactory, moto_endpoint: str, tmp_path: Path) -> None:
    """Renders of an original in an S3 bucket (moto) read one local copy of it
    (`media.streaming.SourceCopies`), and each gets the size it asked for."""
    env = {"DARKROOM_STORAGE_URL": s3_url(moto_endpoint, make_bucket(moto_endpoint))}
    for server in own_sqlite_server(tmp_path_factory, "video-s3", extra_env=env):
        configure_sdk(server)
        try:
            clip = ffmpeg(tmp_path / "clip.mp4", *lavfi_sources(seconds=1), "-c:v", "libx264", "-c:a", "aac", "-shortest")
            public_id = cloudinary.uploader.upload(str(clip), resource_type="video", public_id="s3/clip")["public_id"]
            for width in (96, 64):
                answer = httpx.get(video_url(public_id, width=width, format="mp4"), timeout=60)
                assert answer.status_code == 200
                (tmp_path / f"{width}.mp4").write_bytes(answer.content)
                assert probe(tmp_path / f"{width}.mp4").width == width
        finally:
            cloudinary.reset_config()
