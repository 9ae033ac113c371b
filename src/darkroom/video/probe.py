"""What a video or audio file holds, read from its container headers with PyAV.

Only headers are read, plus at most one decoded frame for the display rotation (it lives in
the frame's side data), so a multi-GB file costs what its first frame costs. Dimensions are
checked from the headers before that frame is decoded. The fields are Cloudinary's upload
reply for video (see the reference doc): `bit_rate` is an int at the top and a string in the
codec blocks; `level` is an int, -99 when unknown.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from darkroom.errors import Invalid, TimedOut, TooLarge

__all__ = ["AudioStream", "VideoInfo", "VideoStream", "probe_video", "MAX_SIDE", "MAX_DURATION"]

MAX_SIDE = 16384  # pixels per side; above any real camera or screen recording
MAX_DURATION = 24 * 3600.0  # seconds
_MAX_PROBE_SECONDS = 10.0  # demuxing to the first frame; a sane file takes milliseconds
_MAX_PACKETS = 2000  # packets read looking for the first video frame

# FFmpeg's container names → Cloudinary's format, when the name alone decides it.
_CONTAINER_FORMATS = {
    "mp3": "mp3",
    "wav": "wav",
    "flac": "flac",
    "aac": "aac",
    "avi": "avi",
    "flv": "flv",
    "mpegts": "ts",
    "mpeg": "mpeg",
    "asf": "wmv",
    "ogg": "ogg",
}
_WEBM_CODECS = {"vp8", "vp9", "av1", "opus", "vorbis"}


@dataclass(frozen=True)
class VideoStream:
    codec: str
    profile: str | None
    level: int
    bit_rate: str | None
    pix_format: str | None
    time_base: str
    dar: str | None

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"pix_format": self.pix_format, "codec": self.codec, "level": self.level}
        if self.profile is not None:
            body["profile"] = self.profile
        if self.bit_rate is not None:
            body["bit_rate"] = self.bit_rate
        if self.dar is not None:
            body["dar"] = self.dar
        body["time_base"] = self.time_base
        return body


@dataclass(frozen=True)
class AudioStream:
    codec: str
    bit_rate: str | None
    frequency: int
    channels: int
    channel_layout: str

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"codec": self.codec}
        if self.bit_rate is not None:
            body["bit_rate"] = self.bit_rate
        body.update(frequency=self.frequency, channels=self.channels, channel_layout=self.channel_layout)
        return body


@dataclass(frozen=True)
class VideoInfo:
    format: str  # Cloudinary's name for the container: mp4, mov, webm, mkv, mp3, m4a, ogg, ogv, wav …
    width: int  # display size, after rotation; 0 for audio
    height: int
    duration: float
    frame_rate: float | None
    bit_rate: int | None
    video: VideoStream | None
    audio: AudioStream | None
    rotation: int  # clockwise degrees, as the legacy `rotate` tag says
    nb_frames: int | None

    @property
    def is_audio(self) -> bool:
        return self.video is None

    def media_fields(self) -> dict[str, Any]:
        """The reply fields beyond width, height, duration and format."""
        body: dict[str, Any] = {}
        if self.frame_rate is not None:
            body["frame_rate"] = self.frame_rate
        if self.bit_rate is not None:
            body["bit_rate"] = self.bit_rate
        body["video"] = self.video.as_json() if self.video else {}
        body["audio"] = self.audio.as_json() if self.audio else {}
        body["is_audio"] = self.is_audio
        body["rotation"] = self.rotation
        if self.nb_frames:
            body["nb_frames"] = self.nb_frames
        return body


def probe_video(path: Path) -> VideoInfo:
    """Read `path`'s container; Invalid if it holds no audio or video, TooLarge past the limits."""
    try:
        container = av.open(str(path), timeout=_MAX_PROBE_SECONDS)
    except (av.FFmpegError, UnicodeDecodeError) as exc:
        raise Invalid("Invalid video file", detail=str(exc)) from exc
    try:
        return _read(container, path)
    except av.FFmpegError as exc:
        raise Invalid("Invalid video file", detail=str(exc)) from exc
    finally:
        container.close()


def _read(container: Any, path: Path) -> VideoInfo:
    fmt = _format(container, path)
    video_streams = [s for s in container.streams.video if not _is_cover_art(s)]
    audio_streams = list(container.streams.audio)
    if not video_streams and not audio_streams:
        raise Invalid("Invalid video file", detail=f"no audio or video stream in {container.format.name}")
    duration = _duration(container, [*video_streams, *audio_streams])
    if duration > MAX_DURATION:
        raise TooLarge(f"Video is too long: {duration:.0f} seconds; the maximum is {MAX_DURATION:.0f}")
    video = video_streams[0] if video_streams else None
    width = height = rotation = 0
    if video is not None:
        width, height = video.codec_context.width, video.codec_context.height
        if width > MAX_SIDE or height > MAX_SIDE:
            raise TooLarge(f"Video is too large: {width}x{height}; the maximum is {MAX_SIDE} pixels per side")
        rotation = _rotation(container, video)
        if rotation in (90, 270):
            width, height = height, width
    return VideoInfo(
        format=fmt,
        width=width,
        height=height,
        duration=round(duration, 6),
        frame_rate=_number(video.average_rate or video.guessed_rate) if video is not None else None,
        bit_rate=int(container.bit_rate) if container.bit_rate else None,
        video=_video_block(video) if video is not None else None,
        audio=_audio_block(audio_streams[0]) if audio_streams else None,
        rotation=rotation,
        nb_frames=int(video.frames) if video is not None and video.frames else None,
    )


def _format(container: Any, path: Path) -> str:
    names = container.format.name.split(",")
    if "mp4" in names or "mov" in names:
        with path.open("rb") as handle:
            brand = handle.read(12)[8:12]
        return {b"qt  ": "mov", b"M4A ": "m4a", b"M4B ": "m4a"}.get(brand, "mp4")
    if "matroska" in names or "webm" in names:
        codecs = {_codec_name(s) for s in container.streams if s.type in ("video", "audio")}
        return "webm" if codecs <= _WEBM_CODECS else "mkv"
    if names[0] == "ogg" and container.streams.video:
        return "ogv"
    if names[0] in _CONTAINER_FORMATS:
        return _CONTAINER_FORMATS[names[0]]
    raise Invalid("Invalid video file", detail=f"unsupported container {container.format.name}")


def _is_cover_art(stream: Any) -> bool:
    """An mp3's or m4a's embedded picture shows up as a one-frame video stream."""
    return bool(stream.disposition & av.stream.Disposition.attached_pic)


def _duration(container: Any, streams: list[Any]) -> float:
    if container.duration:
        return float(container.duration) / av.time_base
    lengths = [float(s.duration * s.time_base) for s in streams if s.duration and s.time_base]
    return max(lengths, default=0.0)


def _rotation(container: Any, video: Any) -> int:
    """Degrees clockwise from the display matrix of the first frame, within a time and packet budget."""
    deadline = time.monotonic() + _MAX_PROBE_SECONDS
    for count, packet in enumerate(container.demux(video)):
        if count >= _MAX_PACKETS:
            return 0
        if time.monotonic() > deadline:
            raise TimedOut("Timed out reading the video's first frame")
        for frame in packet.decode():
            # FFmpeg's angle is counter-clockwise; Cloudinary reports the clockwise `rotate` tag.
            return int(round(-frame.rotation)) % 360
    return 0


def _number(rate: Fraction | None) -> float | None:
    if not rate:
        return None
    value = float(rate)
    return int(value) if value.is_integer() else value


def _video_block(stream: Any) -> VideoStream:
    context = stream.codec_context
    dar = stream.display_aspect_ratio
    level = context.level
    return VideoStream(
        codec=_codec_name(stream),
        profile=stream.profile or None,
        level=level if level is not None and level >= 0 else -99,
        bit_rate=str(stream.bit_rate) if stream.bit_rate else None,
        pix_format=context.pix_fmt,
        time_base=f"{stream.time_base.numerator}/{stream.time_base.denominator}",
        dar=f"{dar.numerator}:{dar.denominator}" if dar else None,
    )


def _audio_block(stream: Any) -> AudioStream:
    context = stream.codec_context
    return AudioStream(
        codec=_codec_name(stream),
        bit_rate=str(stream.bit_rate) if stream.bit_rate else None,
        frequency=int(context.sample_rate),
        channels=int(context.channels),
        channel_layout=context.layout.name,
    )


def _codec_name(stream: Any) -> str:
    """The format's name (`mp3`, `vp9`), not the decoder's (`mp3float`, `libvpx-vp9`)."""
    return str(stream.codec_context.codec.canonical_name)
