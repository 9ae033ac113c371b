"""What a video delivery URL asks for: the output's kind, container and codecs (pure).

    choose_output(chain, requested_format="webm", source_format="mp4", is_audio=False,
                  accept="*/*", user_agent="…Chrome/120…")
    → Output(kind="video", format="webm", video_codec="vp9", audio_codec="opus", …)

The last `f_` wins over the URL's extension, which wins over the source's own format.

`f_auto` (and `f_auto:video`) on a video picks what the client plays, as Cloudinary does:

| the request says | output |
|---|---|
| Accept names `video/webm`, or the browser is Chrome, Chromium, Edge, Opera or Firefox (not on iOS) | WebM, VP9 + Opus |
| Safari (macOS or iOS: `Safari/` without `Chrome`/`Chromium`/`Android`), or any iOS browser | MP4, H.265 (`hvc1`) + AAC |
| anything else (no User-Agent, curl, an unknown player) | MP4, H.264 + AAC: every player plays it |

The choice depends on Accept and User-Agent, so such responses carry `Vary: Accept, User-Agent`.
An audio-only source gets M4A (AAC) from `f_auto`. `f_auto:image`, or `f_auto` on a URL with a
picture extension (`dog.jpg`), is a still frame in AVIF, WebP or JPEG as Accept allows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from darkroom.errors import Invalid
from darkroom.transform import Chain

__all__ = [
    "AUDIO_FORMATS",
    "FRAME_FORMATS",
    "VIDEO_FORMATS",
    "Output",
    "UnsupportedVideoTransformation",
    "auto_choice",
    "choose_output",
    "content_type_of",
]


class UnsupportedVideoTransformation(Invalid):
    """A video transformation darkroom does not perform (a 400 that names it)."""


# Containers darkroom writes, with the codecs used when the URL names none (Cloudinary's defaults).
VIDEO_FORMATS: dict[str, tuple[str, str]] = {
    "mp4": ("h264", "aac"),
    "mov": ("h264", "aac"),
    "mkv": ("h264", "aac"),
    "webm": ("vp9", "opus"),
    "ogv": ("theora", "vorbis"),
}
AUDIO_FORMATS: dict[str, str] = {"mp3": "mp3", "m4a": "aac", "aac": "aac", "ogg": "vorbis", "opus": "opus", "wav": "pcm", "flac": "flac"}
FRAME_FORMATS = frozenset(("jpg", "png", "webp", "avif"))
ANIMATION_FORMATS = frozenset(("gif", "webp"))

_CONTENT_TYPES = {
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "mkv": "video/x-matroska",
    "webm": "video/webm",
    "ogv": "video/ogg",
    "mp3": "audio/mpeg",
    "m4a": "audio/mp4",
    "aac": "audio/aac",
    "ogg": "audio/ogg",
    "opus": "audio/ogg",
    "wav": "audio/wav",
    "flac": "audio/flac",
    "gif": "image/gif",
    "jpg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "avif": "image/avif",
    "vtt": "text/vtt; charset=utf-8",
}


def content_type_of(fmt: str) -> str:
    return _CONTENT_TYPES.get(fmt, "application/octet-stream")


@dataclass(frozen=True)
class Output:
    """What to make. `kind` is "video" (a container with video and/or audio), "audio",
    "frame" (one still), "animation" (GIF or animated WebP), "sprite" (the thumbnail sheet),
    "sprite_index" (its WebVTT) or "waveform" (a picture of the sound). Codecs are the defaults for the container; `vc_`/`ac_`
    in the chain may override them."""

    kind: str
    format: str
    video_codec: str | None = None
    audio_codec: str | None = None
    auto: str | None = None  # the f_auto choice ("webm", "hevc", "h264", "audio", "image"), None without f_auto

    @property
    def content_type(self) -> str:
        return content_type_of(self.format)

    @property
    def vary(self) -> str | None:
        """The request headers that chose this output (f_auto), for `Vary`."""
        if self.auto is None or self.auto == "audio":  # every client gets the same audio
            return None
        return "Accept" if self.auto == "image" else "Accept, User-Agent"


_CHROMIUM_OR_FIREFOX = re.compile(r"(Chrome|Chromium|CriOS|Edg|OPR|Firefox|FxiOS)/", re.IGNORECASE)
_IOS = re.compile(r"iPhone|iPad|iPod", re.IGNORECASE)


def auto_choice(accept: str, user_agent: str, *, is_audio: bool) -> str:
    """The f_auto class of a client (see the module docstring): "webm", "hevc", "h264" or "audio"."""
    if is_audio:
        return "audio"
    if _IOS.search(user_agent):
        return "hevc"  # every iOS browser is WebKit
    if "video/webm" in accept.lower() or _CHROMIUM_OR_FIREFOX.search(user_agent):
        return "webm"
    if "Safari/" in user_agent:
        return "hevc"
    return "h264"


_AUTO_OUTPUTS = {
    "webm": Output("video", "webm", "vp9", "opus", auto="webm"),
    "hevc": Output("video", "mp4", "h265", "aac", auto="hevc"),
    "h264": Output("video", "mp4", "h264", "aac", auto="h264"),
    "audio": Output("audio", "m4a", None, "aac", auto="audio"),
}


def choose_output(
    chain: Chain, *, requested_format: str | None, source_format: str, is_audio: bool, accept: str = "", user_agent: str = ""
) -> Output:
    """The output a URL asks for (see the module docstring); UnsupportedVideoTransformation when
    it names something darkroom does not make from a video."""
    fmt = chain.fetch_format or requested_format or source_format
    flags = {flag.name for component in chain.components for flag in component.flags}
    if fmt == "auto" and requested_format in FRAME_FORMATS and "sprite" not in flags:
        fmt = "auto:image"  # `f_auto` on a picture URL (`dog.jpg`): the still, in the client's best format
    if fmt in ("auto", "auto:video"):
        return _AUTO_OUTPUTS[auto_choice(accept, user_agent, is_audio=is_audio)]
    if fmt == "auto:image":  # a still, in the best format the Accept header names
        lowered = accept.lower()
        return Output("frame", "avif" if "image/avif" in lowered else "webp" if "image/webp" in lowered else "jpg", auto="image")
    if "sprite" in flags:
        if fmt == "vtt":
            return Output("sprite_index", "vtt")
        if fmt in FRAME_FORMATS:
            return Output("sprite", fmt)
        raise UnsupportedVideoTransformation(f"fl_sprite needs a .vtt or an image extension, not .{fmt}")
    if "waveform" in flags:
        if fmt not in FRAME_FORMATS:
            raise UnsupportedVideoTransformation(f"fl_waveform needs an image extension, not .{fmt}")
        return Output("waveform", fmt)
    if fmt == "gif" or (fmt == "webp" and flags & {"animated", "awebp"}):
        return Output("animation", fmt)
    if fmt in FRAME_FORMATS:
        return Output("frame", fmt)
    if fmt in VIDEO_FORMATS:
        video, audio = VIDEO_FORMATS[fmt]
        return Output("video", fmt, None if is_audio else video, audio)
    if fmt in AUDIO_FORMATS:
        return Output("audio", fmt, None, AUDIO_FORMATS[fmt])
    if fmt in ("m3u8", "mpd"):
        raise UnsupportedVideoTransformation(f"Adaptive streaming (.{fmt}) needs a streaming profile (sp_)")
    raise UnsupportedVideoTransformation(f"Unsupported video format - {fmt}")
