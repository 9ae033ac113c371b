"""Sample media for the video player tests: a short H.264/AAC clip and a WebVTT file, uploaded with the SDK.

The clip comes from ffmpeg's test sources (the imageio-ffmpeg binary), 2 s at 640×360, so a
`w_320` transformation is a real downscale and an `sp_auto` ladder has more than one rung
to choose from at most. Its cues span the whole clip, so one is showing whenever it plays.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cloudinary.uploader

from tests.support import ffmpeg, lavfi_sources
from tests.support import LiveServer, configure_sdk

WIDTH, HEIGHT, SECONDS = 640, 360, 2
CUE_TEXT = "Hello from darkroom"
VTT = f"WEBVTT\n\n00:00.000 --> 00:01.000\n{CUE_TEXT}\n\n00:01.000 --> 00:05.000\n{CUE_TEXT} again\n".encode()


@dataclass(frozen=True)
class Uploaded:
    video: dict[str, Any]  # the Upload API's reply for the clip
    track: dict[str, Any]  # ... and for its raw WebVTT file, named `{video public_id}.en.vtt`

    @property
    def public_id(self) -> str:
        return str(self.video["public_id"])


def make_clip(folder: Path) -> Path:
    """640×360, 2 s, H.264 (yuv420p) and AAC, index first (faststart) so a browser starts at once."""
    return ffmpeg(
        folder / "clip.mp4", *lavfi_sources(f"{WIDTH}x{HEIGHT}", SECONDS),
        "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "2",
        "-shortest", "-movflags", "+faststart",
    )


def upload_clip_and_track(server: LiveServer, folder: Path, public_id: str) -> Uploaded:
    """The clip as a video and its subtitles as raw `{public_id}.en.vtt`, through the official SDK."""
    configure_sdk(server)
    clip = make_clip(folder)
    video = cloudinary.uploader.upload(str(clip), resource_type="video", public_id=public_id)
    vtt = folder / "clip.en.vtt"
    vtt.write_bytes(VTT)
    track = cloudinary.uploader.upload(str(vtt), resource_type="raw", public_id=f"{public_id}.en.vtt")
    return Uploaded(video, track)
