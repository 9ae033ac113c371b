"""Encoder and muxer options: codecs per container, quality as a CRF, bit rates (pure).

Defaults per container come from `outputs.VIDEO_FORMATS`/`AUDIO_FORMATS`; `vc_` and `ac_`
override them (the last given wins) and must fit the container (`vc_h264` in WebM is a 400).
`q_` is a constant-rate factor on the encoder's scale: `q_auto:best|good|eco|low` are fixed
levels, `q_N` maps linearly; `br_N` is an average with a 1.5× peak, `br_N:constant` pins
min = max. Encoders are tuned for throughput (`veryfast` x264/x265, libvpx `good` at
cpu-used 5 with row threading, SVT-AV1 preset 10): a request waits for them.
"""

from __future__ import annotations

import re
from typing import Any

from darkroom.transform import Chain
from darkroom.video.outputs import Output, UnsupportedVideoTransformation

__all__ = ["choose_codecs", "encoder_arguments", "h264_crf", "muxer_arguments"]

_QUALITY_AUTO_CRF = {"best": 19, "good": 23, "eco": 26, "low": 30}  # H.264/H.265 scale (0-51)


# Which codecs each container holds; a `vc_`/`ac_` outside these is a 400.
_CONTAINER_VIDEO = {
    "mp4": {"h264", "h265", "av1", "vp9"},
    "mov": {"h264", "h265"},
    "mkv": {"h264", "h265", "vp8", "vp9", "av1", "theora"},
    "webm": {"vp8", "vp9", "av1"},
    "ogv": {"theora"},
}
_CONTAINER_AUDIO = {
    "mp4": {"aac", "mp3", "opus"},
    "mov": {"aac", "mp3"},
    "mkv": {"aac", "mp3", "opus", "vorbis", "flac"},
    "webm": {"opus", "vorbis"},
    "ogv": {"vorbis", "opus"},
    "mp3": {"mp3"},
    "m4a": {"aac"},
    "aac": {"aac"},
    "ogg": {"vorbis", "opus", "flac"},
    "opus": {"opus"},
    "wav": {"pcm"},
    "flac": {"flac"},
}
_VIDEO_CODEC_NAMES = {"h264": "h264", "avc": "h264", "h265": "h265", "hevc": "h265", "vp8": "vp8", "vp9": "vp9", "av1": "av1", "theora": "theora"}


def choose_codecs(chain: Chain, output: Output, *, has_video: bool, has_audio: bool) -> tuple[str | None, str | None]:
    """The video and audio codecs of the output: `vc_`/`ac_` (the last given) over the container's
    defaults, checked against what the container holds; None for a stream left out."""
    video = output.video_codec
    audio = output.audio_codec
    fmt = output.format
    for component in chain.components:
        if component.video_codec is not None and output.kind == "video":
            name = component.video_codec.split(":")[0]
            if name == "none":
                video = None
            elif name == "auto":
                video = output.video_codec
            elif name in _VIDEO_CODEC_NAMES:
                video = _VIDEO_CODEC_NAMES[name]
            else:
                raise UnsupportedVideoTransformation(f"Unsupported video codec - {name}")
        if component.audio_codec is not None and output.kind in ("video", "audio"):
            name = component.audio_codec
            audio = None if name == "none" else name
            if audio is not None and audio not in ("aac", "mp3", "opus", "vorbis"):
                raise UnsupportedVideoTransformation(f"Unsupported audio codec - {name}")
    if output.kind == "animation":
        return fmt, None
    if video is not None and fmt in _CONTAINER_VIDEO and video not in _CONTAINER_VIDEO[fmt]:
        raise UnsupportedVideoTransformation(f"Video codec {video} cannot be stored in {fmt}")
    if audio is not None and fmt in _CONTAINER_AUDIO and audio not in _CONTAINER_AUDIO[fmt]:
        raise UnsupportedVideoTransformation(f"Audio codec {audio} cannot be stored in {fmt}")
    if output.kind == "audio" and not has_audio:
        raise UnsupportedVideoTransformation("The video has no audio track")
    if not has_video:
        video = None
    if not has_audio:
        audio = None
    return video, audio


def _last(chain: Chain, name: str) -> Any:
    return next((getattr(c, name) for c in reversed(chain.components) if getattr(c, name) is not None), None)


def _crf(chain: Chain, scale: int) -> int:
    """`q_` as a constant-rate factor on the encoder's scale (51 for H.264/H.265, 63 for VP9/AV1):
    q_auto's targets map to fixed levels, q_N linearly (q_100 is near-lossless, q_1 the worst)."""
    quality = _last(chain, "quality")
    if quality is None or quality.auto is not None:
        crf = _QUALITY_AUTO_CRF[quality.auto if quality is not None and quality.auto else "good"]
    elif quality.level is not None:
        crf = h264_crf(quality.level)
    else:
        crf = _QUALITY_AUTO_CRF["good"]
    return round(crf * scale / 51)


def h264_crf(level: int) -> int:
    """`q_N` (1-100) as an x264 constant-rate factor: 51 (worst) down to 18 (near-lossless)."""
    return round(51 - level * 0.33)


def _bit_rate(chain: Chain) -> tuple[str, bool] | None:
    text = _last(chain, "bit_rate")
    if text is None:
        return None
    rate, _, mode = text.partition(":")
    return rate.lower(), mode == "constant"


def bits_per_second(rate: str) -> int:
    """`br_` as bits per second: `800k`, `1.5m`, `250000`, with or without `:constant`."""
    number = rate.split(":")[0].lower()
    multiplier = {"k": 1000, "m": 1_000_000}.get(number[-1:], 1)
    return int(float(number.rstrip("km")) * multiplier)


def _video_encoder(chain: Chain, codec: str, output: Output) -> list[str]:
    spec = _last(chain, "video_codec") or ""
    parts = spec.split(":")[1:]
    if codec == "h264":
        args = ["-c:v", "libx264", "-preset", "veryfast"]
        if parts:
            if parts[0] not in ("baseline", "main", "high"):
                raise UnsupportedVideoTransformation(f"Unsupported h264 profile - {parts[0]}")
            args += ["-profile:v", parts[0]]
        if len(parts) > 1:
            if not re.fullmatch(r"[1-6](\.[0-2])?", parts[1]):
                raise UnsupportedVideoTransformation(f"Unsupported h264 level - {parts[1]}")
            args += ["-level:v", parts[1]]
        return [*args, *_rate_control(chain, 51)]
    if codec == "h265":
        tag = ["-tag:v", "hvc1"] if output.format in ("mp4", "mov", "m4a") else []
        return ["-c:v", "libx265", "-preset", "veryfast", "-x265-params", "log-level=error", *tag, *_rate_control(chain, 51)]
    if codec == "vp9":
        return ["-c:v", "libvpx-vp9", "-deadline", "good", "-cpu-used", "5", "-row-mt", "1", *_rate_control(chain, 63, zero_bitrate=True)]
    if codec == "vp8":
        return ["-c:v", "libvpx", "-deadline", "good", "-cpu-used", "5", *_rate_control(chain, 63, vp8=True)]
    if codec == "av1":
        return ["-c:v", "libsvtav1", "-preset", "10", *_rate_control(chain, 63)]
    if codec == "theora":
        quality = _last(chain, "quality")
        level = quality.level if quality is not None and quality.level is not None else 70
        return ["-c:v", "libtheora", "-q:v", f"{max(level // 10, 1)}"]
    raise UnsupportedVideoTransformation(f"Unsupported video codec - {codec}")


def _rate_control(chain: Chain, scale: int, *, zero_bitrate: bool = False, vp8: bool = False) -> list[str]:
    rate = _bit_rate(chain)
    if rate is None:
        crf = ["-crf", str(_crf(chain, scale))]
        return crf + (["-b:v", "0"] if zero_bitrate else ["-b:v", "2M"] if vp8 else [])
    value, constant = rate
    bits = bits_per_second(value)
    if constant:
        return ["-b:v", str(bits), "-minrate", str(bits), "-maxrate", str(bits), "-bufsize", str(bits * 2)]
    return ["-b:v", str(bits), "-maxrate", str(bits * 3 // 2), "-bufsize", str(bits * 2)]


_AUDIO_ENCODERS = {
    "aac": ["-c:a", "aac", "-b:a", "128k"],
    "opus": ["-c:a", "libopus", "-b:a", "96k"],
    "mp3": ["-c:a", "libmp3lame", "-q:a", "4"],
    "vorbis": ["-c:a", "libvorbis", "-q:a", "4"],
    "pcm": ["-c:a", "pcm_s16le"],
    "flac": ["-c:a", "flac"],
}


def encoder_arguments(chain: Chain, output: Output, video: str | None, audio: str | None) -> list[str]:
    """Codec, quality and rate-control options for the chosen codecs."""
    args: list[str] = []
    if output.kind == "animation":
        if output.format == "webp":
            quality = _last(chain, "quality")
            level = quality.level if quality is not None and quality.level is not None else 75
            args += ["-c:v", "libwebp_anim", "-q:v", str(level), "-loop", "0"]
        else:
            args += ["-c:v", "gif", "-loop", "0"]
        return args
    if video is not None:
        args += _video_encoder(chain, video, output)
        interval = _last(chain, "keyframe_interval")
        if interval is not None:
            args += ["-force_key_frames", f"expr:gte(t,n_forced*{float(interval):g})"]
    if audio is not None:
        args += _AUDIO_ENCODERS[audio]
        frequency = _last(chain, "audio_frequency")
        if frequency is not None and frequency.isdigit():
            args += ["-ar", frequency]
        if audio == "opus":
            args += ["-ar", "48000"]
    return args


_MUXERS = {
    "mp4": ["-f", "mp4", "-movflags", "+faststart"],
    "mov": ["-f", "mov", "-movflags", "+faststart"],
    "m4a": ["-f", "ipod", "-movflags", "+faststart"],
    "mkv": ["-f", "matroska"],
    "webm": ["-f", "webm"],
    "ogv": ["-f", "ogg"],
    "ogg": ["-f", "ogg"],
    "opus": ["-f", "ogg"],
    "mp3": ["-f", "mp3"],
    "aac": ["-f", "adts"],
    "wav": ["-f", "wav"],
    "flac": ["-f", "flac"],
    "gif": ["-f", "gif"],
    "webp": ["-f", "webp"],
}


def muxer_arguments(output: Output) -> list[str]:
    return list(_MUXERS[output.format])
