"""Fixtures for video delivery: short clips made with ffmpeg's test sources, uploaded with the SDK."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cloudinary
import cloudinary.uploader
import httpx
import pytest

from support import LiveServer, configure_sdk, ffmpeg, lavfi_sources

SUBTITLES = "1\n00:00:00,000 --> 00:00:02,000\nHELLO SUBTITLES\n"


@pytest.fixture(scope="module")
def clips(sqlite_server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Uploaded with the SDK (configured for the module): a 2 s 320x240 H.264/AAC clip, a 1 s
    MP3 tone, an .srt (raw)."""
    configure_sdk(sqlite_server)
    folder = tmp_path_factory.mktemp("video-delivery")
    clip = ffmpeg(folder / "clip.mp4", *lavfi_sources(), "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest")
    tone = ffmpeg(folder / "tone.mp3", "-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "libmp3lame")
    subtitles = folder / "captions.srt"
    subtitles.write_text(SUBTITLES)
    ids = {
        "clip": cloudinary.uploader.upload(str(clip), resource_type="video", public_id="delivery/clip")["public_id"],
        "tone": cloudinary.uploader.upload(str(tone), resource_type="video", public_id="delivery/tone")["public_id"],
        "subtitles": cloudinary.uploader.upload(str(subtitles), resource_type="raw", public_id="delivery/captions.srt")["public_id"],
        "clip_file": str(clip),
    }
    yield ids
    os.environ.pop("CLOUDINARY_URL", None)
    cloudinary.reset_config()


@pytest.fixture
def fetch(tmp_path: Path) -> Iterator[Any]:
    """GET a URL (200 expected) into a file and return its path and the response."""
    with httpx.Client(timeout=60) as client:

        def get(url: str, **headers: str) -> tuple[Path, httpx.Response]:
            response = client.get(url, headers=headers)
            assert response.status_code == 200, (url, response.status_code, response.headers.get("x-cld-error"))
            path = tmp_path / f"fetched-{len(list(tmp_path.iterdir()))}"
            path.write_bytes(response.content)
            return path, response

        yield get
