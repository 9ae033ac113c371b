"""Pictures from a video: one still frame, and the seek-thumbnail sprite with its WebVTT index.

A video URL with an image extension (`…/video/upload/c_fill,w_300,so_2/dog.jpg`) is the frame
at `so_` (the middle of the video without it, or with `so_auto`), with the URL's image
transformations applied after it by `imaging`, as for any picture.

`fl_sprite` with `.vtt` (`…/video/upload/q_auto/fl_sprite/v1/dog.vtt`, what Cloudinary's
player asks for its seek thumbnails) is a WebVTT file whose cues point into one sprite image:

    WEBVTT

    00:00:00.000 --> 00:00:01.000
    dog.jpg#xywh=0,0,160,90

`fl_waveform` with a picture extension draws the sound instead (`co_` the wave, `b_` the paper).

The sprite image is the same URL with `.jpg` (the cue's URL is relative, so it resolves against
the `.vtt`'s own address, whatever host serves it). Thumbnails are taken every `vs_Ns`
seconds, or `vs_N` of them over the whole video; by default one a second up to 100 s, then
100 over the whole video. They are `w_` wide (default 160 px), ten to a row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from darkroom.imaging import Rendered, RenderLimits, RenderRequest, render
from darkroom.transform import Chain, Component, Pixels, rgba
from darkroom.video.ffmpeg import run_ffmpeg
from darkroom.video.geometry import even
from darkroom.video.outputs import UnsupportedVideoTransformation
from darkroom.video.transcode import SourceFacts, scratch_file, trim_window

__all__ = ["SpriteLayout", "frame_time", "image_chain", "render_frame", "render_sprite", "render_waveform", "sprite_index", "sprite_layout"]

SPRITE_TILE_WIDTH = 160
SPRITE_COLUMNS = 10
MAX_SPRITE_TILES = 400
LONG_VIDEO_SECONDS = 120.0  # past this, sprite thumbnails come from keyframes

# What only a video has (and the format, decided already): the picture's renderer must not see these.
_VIDEO_ONLY: dict[str, Any] = dict(
    fetch_format=None,
    start_offset=None, end_offset=None, duration=None, video_codec=None, audio_codec=None, audio_frequency=None,
    bit_rate=None, fps=None, keyframe_interval=None, video_sampling=None, streaming_profile=None,
)


def frame_time(chain: Chain, facts: SourceFacts) -> float:
    """Seconds into the video of the still a picture URL shows: `so_`, else the middle."""
    offsets = [c for c in chain.components if c.start_offset not in (None, "auto")]
    if not offsets:
        return facts.duration / 2
    start, _ = trim_window(offsets[-1:], facts.duration)
    # The last frame starts one frame before the end: seeking to the very end finds nothing.
    return max(0.0, min(start, facts.duration - 1 / facts.fps))


def image_chain(chain: Chain) -> Chain:
    """The chain without its video-only parameters, for the picture renderer."""
    components = []
    for component in chain.components:
        flags = tuple(flag for flag in component.flags if flag.name not in ("sprite", "splice"))
        stripped = replace(component, flags=flags, **_VIDEO_ONLY)
        if not stripped.is_empty:
            components.append(stripped)
    return Chain(tuple(components))


def render_frame(source: Path, facts: SourceFacts, chain: Chain, *, fmt: str, limits: RenderLimits, scratch: Path, timeout: float) -> Rendered:
    """The still at `frame_time` with the image transformations applied, encoded as `fmt`
    (blocking: ffmpeg then libvips; call it in a worker thread)."""
    if not facts.has_video:
        raise UnsupportedVideoTransformation("An audio file has no frames; fl_waveform draws its sound")
    still = scratch_file(scratch, "frame.png")
    at = frame_time(chain, facts)
    run_ffmpeg(["-ss", f"{at:.3f}", "-i", str(source), "-frames:v", "1", "-f", "image2", "-c:v", "png", str(still)], timeout=timeout)
    if not still.exists():  # a seek past the last decodable frame: take the first
        run_ffmpeg(["-i", str(source), "-frames:v", "1", "-f", "image2", "-c:v", "png", str(still)], timeout=timeout)
    return render(RenderRequest(still, image_chain(chain), source_format="png", requested_format=fmt, limits=limits))


@dataclass(frozen=True)
class SpriteLayout:
    interval: float  # seconds between thumbnails
    count: int
    tile_width: int
    tile_height: int
    columns: int

    @property
    def rows(self) -> int:
        return math.ceil(self.count / self.columns)


def sprite_layout(chain: Chain, facts: SourceFacts) -> SpriteLayout:
    """Where each thumbnail sits in the sprite (pure: the image and its index agree)."""
    if not facts.has_video or facts.width <= 0:
        raise UnsupportedVideoTransformation("An audio file has no frames for a sprite")
    duration = max(facts.duration, 0.001)
    sampling = next((c.video_sampling for c in reversed(chain.components) if c.video_sampling), None)
    if sampling is None:
        interval = max(1.0, duration / 100)
    elif sampling.endswith("s"):
        interval = float(sampling[:-1])
    else:
        interval = duration / max(int(float(sampling)), 1)
    if interval <= 0:
        raise UnsupportedVideoTransformation(f"Invalid video_sampling - {sampling}")
    count = min(max(1, math.ceil(duration / interval - 1e-6)), MAX_SPRITE_TILES)
    width = next((c.width.value for c in reversed(chain.components) if isinstance(c.width, Pixels)), SPRITE_TILE_WIDTH)
    width = even(min(width, facts.width, 1024))
    height = even(width * facts.height / facts.width)
    return SpriteLayout(interval, count, width, height, min(count, SPRITE_COLUMNS))


def render_sprite(
    source: Path, facts: SourceFacts, chain: Chain, *, fmt: str, limits: RenderLimits, scratch: Path, timeout: float
) -> Rendered:
    """The sprite image of `sprite_layout` (blocking: call it in a worker thread)."""
    layout = sprite_layout(chain, facts)
    sheet = scratch_file(scratch, "sprite.png")
    tiles = (
        f"fps=1/{layout.interval:g}:round=down,scale={layout.tile_width}:{layout.tile_height},setsar=1,"
        f"tile={layout.columns}x{layout.rows}"
    )
    # A long video is sampled from its keyframes only (seconds apart, decoded alone): a sprite of
    # a two-hour film costs seconds, not a decode of every frame.
    keyframes = ["-skip_frame", "nokey"] if facts.duration > LONG_VIDEO_SECONDS else []
    run_ffmpeg([*keyframes, "-i", str(source), "-an", "-vf", tiles, "-frames:v", "1", "-f", "image2", "-c:v", "png", str(sheet)], timeout=timeout)
    quality = next((c.quality for c in reversed(chain.components) if c.quality is not None), None)
    encode = Chain((Component(quality=quality),)) if quality is not None else Chain()
    return render(RenderRequest(sheet, encode, source_format="png", requested_format=fmt, limits=limits))


def sprite_index(layout: SpriteLayout, image_name: str, duration: float) -> str:
    """The WebVTT index: one cue per thumbnail, `image_name#xywh=x,y,w,h`."""
    lines = ["WEBVTT", ""]
    for index in range(layout.count):
        start = index * layout.interval
        end = min((index + 1) * layout.interval, max(duration, start + 0.001))
        x = (index % layout.columns) * layout.tile_width
        y = (index // layout.columns) * layout.tile_height
        lines += [f"{_timestamp(start)} --> {_timestamp(end)}", f"{image_name}#xywh={x},{y},{layout.tile_width},{layout.tile_height}", ""]
    return "\n".join(lines)


def _timestamp(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


WAVEFORM_SIZE = (1000, 200)


def render_waveform(source: Path, facts: SourceFacts, chain: Chain, *, fmt: str, limits: RenderLimits, scratch: Path, timeout: float) -> Rendered:
    """`fl_waveform` with a picture extension: the sound's waveform, `w_`×`h_` (default
    1000×200), drawn in `co_` (white) on `b_` (black), trimmed by `so_`/`eo_`/`du_`."""
    if not facts.has_audio:
        raise UnsupportedVideoTransformation("fl_waveform needs an audio track")
    width = next((c.width.value for c in reversed(chain.components) if isinstance(c.width, Pixels)), WAVEFORM_SIZE[0])
    height = next((c.height.value for c in reversed(chain.components) if isinstance(c.height, Pixels)), WAVEFORM_SIZE[1])
    if not (0 < width <= 4096 and 0 < height <= 4096):
        raise UnsupportedVideoTransformation(f"Invalid waveform size - {width}x{height}; at most 4096 a side")
    wave = _hex(next((c.color for c in reversed(chain.components) if c.color), None), "ffffff")
    back = next((c.background for c in reversed(chain.components) if c.background is not None), None)
    paper = _hex(back.color if back is not None and back.kind == "color" else None, "000000")
    start, end = trim_window([c for c in chain.components if c.overlay is None], facts.duration)
    picture = scratch_file(scratch, "waveform.png")
    graph = f"[0:a]showwavespic=s={width}x{height}:colors=0x{wave}:split_channels=0[w];color=c=0x{paper}:s={width}x{height}[p];[p][w]overlay=format=auto"
    run_ffmpeg(["-ss", f"{start:.3f}", "-t", f"{end - start:.3f}", "-i", str(source), "-filter_complex", graph, "-frames:v", "1", "-f", "image2", "-c:v", "png", str(picture)], timeout=timeout)
    return render(RenderRequest(picture, Chain(), source_format="png", requested_format=fmt, limits=limits))


def _hex(color: str | None, default: str) -> str:
    if color is None:
        return default
    red, green, blue, _ = rgba(color)
    return f"{red:02x}{green:02x}{blue:02x}"
