"""Helpers for the video tests: SDK-built video URLs and what PyAV reads from a delivered file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import cloudinary.utils


@dataclass(frozen=True)
class Probed:
    """What PyAV reads from a delivered file."""

    format: str
    duration: float
    video_codec: str | None
    audio_codec: str | None
    width: int
    height: int
    profile: str | None


def probe(path: Path) -> Probed:
    with av.open(str(path)) as container:
        video = container.streams.video[0] if container.streams.video else None
        audio = container.streams.audio[0] if container.streams.audio else None
        return Probed(
            format=container.format.name,
            duration=float(container.duration or 0) / av.time_base,
            video_codec=video.codec_context.codec.canonical_name if video else None,
            audio_codec=audio.codec_context.codec.canonical_name if audio else None,
            width=video.codec_context.width if video else 0,
            height=video.codec_context.height if video else 0,
            profile=video.profile if video else None,
        )


def video_url(public_id: str, **options: Any) -> str:
    url, _ = cloudinary.utils.cloudinary_url(public_id, resource_type="video", **options)
    return str(url)
