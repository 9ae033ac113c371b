"""Adaptive streaming: a ladder of renditions, its HLS and DASH manifests, and its segments.

Design: fixed segment boundaries, each segment transcoded on its own, on demand.

The manifests are computed from the probed duration alone: segment 0 covers the first
`FIRST_SEGMENT_SECONDS` (2 s), each next one `SEGMENT_SECONDS` (4 s), so a player gets every
playlist at once, before a single frame is encoded. A video segment is one short ffmpeg run
that input-seeks to its start, encodes its seconds with an IDR frame first (so it is
independent and keyframe-aligned), and writes fragmented MP4 whose `tfdt` carries the
segment's real position (`-output_ts_offset`, with timestamp shifting and edit lists off).
The media layer caches each segment as a derivative and works a few segments ahead of the
player in the background. The time to first playable segment is then one 2 s encode of the
rung the player starts with (measured in bench/video_streaming.py: about 1.0x a direct ffmpeg
run of the same command).

Why not ffmpeg's hls/dash muxer writing progressively: its first segment is as quick, but
segment *n* exists only after everything before it is encoded, so a seek (or a player that
starts at another rung) waits for the whole prefix, and one long process per rung holds a
core for the video's length. Independent segments make a seek cost one segment, let rungs
be made in any order by any worker, and let a crashed or repeated job redo one segment.

The segments are CMAF-style fMP4 with video and audio in separate tracks: one set of files
serves HLS (version 7, `EXT-X-MAP`, audio as an `EXT-X-MEDIA` group: hls.js and Safari) and
DASH (`SegmentTemplate` + `SegmentTimeline`, `$Number$`: dash.js). Every encode of a track
writes the same initialization header (same codec settings and size; H.264 level set, not
guessed), so the header of whichever segment is encoded first is the track's `init.mp4`.
No B-frames: then decode and presentation times agree and no segment's timestamps start
below its boundary. Audio is cheap to encode but AAC primes each new stream with one frame,
so audio segments are encoded `AUDIO_GROUP` at a time as one stream and cut by ffmpeg's
segment muxer: they meet exactly, except for one frame of overlap between groups.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import BinaryIO
from xml.sax.saxutils import quoteattr

from darkroom.errors import DarkroomError, Invalid
from darkroom.video.ffmpeg import TranscodeFailed, TranscodeTimedOut, run_ffmpeg
from darkroom.transform import Chain, Component, Pixels, Relative
from darkroom.video.encoders import bits_per_second, h264_crf
from darkroom.video.geometry import even

__all__ = [
    "AUDIO_TRACK",
    "SEGMENT_SECONDS",
    "EncodeFailed",
    "Ladder",
    "Rendition",
    "Source",
    "Track",
    "StreamChild",
    "audio_group",
    "dash_manifest",
    "encode_audio_segments",
    "encode_segment",
    "hls_master",
    "hls_media_playlist",
    "parse_child",
    "plan_ladder",
    "split_header",
]

SEGMENT_SECONDS = 4.0  # seconds per segment: few requests, yet a seek costs one short encode
FIRST_SEGMENT_SECONDS = 2.0  # the first segment is shorter: the time to first frame is its encode
AUDIO_GROUP = 15  # audio segments encoded in one run (about a minute), cut by ffmpeg's segment muxer
AUDIO_FIRST_GROUP = 4  # the first run is shorter (14 s): first play waits for it
AUDIO_BIT_RATE = 128_000  # bits/s, AAC stereo at 48 kHz for every ladder
AUDIO_TRACK = "a"
X264_PRESET = "veryfast"  # the speed the time-to-first-segment goal needs; bit rates are capped anyway
_SUPPORTED_CROPS = {None, "scale", "limit", "fit", "fill", "lfill"}


class EncodeFailed(DarkroomError):
    """ffmpeg could not produce a segment (a damaged source, a timeout)."""


@dataclass(frozen=True)
class Source:
    """What the ladder needs to know about a video: its probed facts, as the asset row holds them."""

    width: int
    height: int
    duration: float  # seconds
    frame_rate: float  # frames per second (25.0 when the probe found none)
    has_audio: bool
    has_video: bool = True


@dataclass(frozen=True)
class Picture:
    """Which part of the source a rendition shows and at what size (even numbers, for 4:2:0)."""

    crop: tuple[int, int, int, int]  # x, y, width, height within the source, in source pixels
    width: int
    height: int


@dataclass(frozen=True)
class Rendition:
    """One video rung of the ladder: picture size, bit rate, codec settings."""

    track: str  # "v0", "v1", … highest first; names the rung in segment URLs
    picture: Picture
    bit_rate: int  # video bits/s (the encoder's target and cap)
    frame_rate: float
    level: str  # H.264 level as in the `avc1` codec string's last byte, e.g. "28" for 4.0
    crf: int | None = None  # a quality floor from `q_N`; the bit rate still caps it

    @property
    def codecs(self) -> str:
        """RFC 6381 codec string (H.264 High profile)."""
        return f"avc1.6400{self.level}"

    @property
    def bandwidth(self) -> int:
        """Peak bits/s of the rung as a player should budget it (video cap plus headroom)."""
        return int(self.bit_rate * 1.1)


@dataclass(frozen=True)
class Ladder:
    """The whole presentation: the renditions, the audio track, the segment grid.

    The grid is fixed by the duration alone: a short first segment (`FIRST_SEGMENT_SECONDS`,
    so playback starts after half the work), then `SEGMENT_SECONDS` each, the last one shorter.
    """

    renditions: tuple[Rendition, ...]
    duration: float
    has_audio: bool
    first_seconds: float = FIRST_SEGMENT_SECONDS
    segment_seconds: float = SEGMENT_SECONDS
    tracks: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        names = tuple(r.track for r in self.renditions) + ((AUDIO_TRACK,) if self.has_audio else ())
        object.__setattr__(self, "tracks", names)

    @property
    def grid(self) -> str:
        """The grid as text, part of a segment's cache identity (`2+4`)."""
        return f"{self.first_seconds:g}+{self.segment_seconds:g}"

    @property
    def segment_count(self) -> int:
        rest = self.duration - self.first_seconds
        return 1 if rest <= 1e-3 else 1 + math.ceil(rest / self.segment_seconds - 1e-3)

    def start(self, index: int) -> float:
        return 0.0 if index == 0 else self.first_seconds + (index - 1) * self.segment_seconds

    def segment(self, index: int) -> tuple[float, float]:
        """(start, length) in seconds of segment `index`."""
        start = self.start(index)
        end = self.duration if index == self.segment_count - 1 else self.start(index + 1)
        return start, end - start

    def rendition(self, track: str) -> Rendition | None:
        return next((r for r in self.renditions if r.track == track), None)


# ---------------------------------------------------------------------------------------------
# Planning (pure): profile representations + the URL's other components → renditions


def plan_ladder(source: Source, common: Chain, representations: list[Chain]) -> Ladder:
    """The renditions of a profile for this source.

    `common` holds the URL's components other than `sp_` (applied to every rendition first);
    each representation is a profile rung (`br_3.5m,c_limit,h_720,w_1280`). Rungs never
    upscale (`c_limit` as Cloudinary's profiles use it), so a rung above the source size
    yields the source size; of rungs that end at the same size, only the lowest bit rate
    is kept, so the ladder stops at the source's size.
    """
    if not source.has_video:
        return Ladder((), source.duration, source.has_audio)
    base = _apply(Picture((0, 0, source.width, source.height), source.width, source.height), common.components)
    options = _Options.of(common.components)
    renditions: list[Rendition] = []
    for rung in representations:
        picture = _apply(base, rung.components)
        rung_options = _Options.of(rung.components)
        bit_rate = options.bit_rate or rung_options.bit_rate or _default_bit_rate(picture)
        fps = options.fps or rung_options.fps or source.frame_rate
        level = _h264_level(picture.width, picture.height, fps)
        candidate = Rendition("", picture, bit_rate, fps, level, options.crf or rung_options.crf)
        same_size = [i for i, r in enumerate(renditions) if (r.picture.width, r.picture.height) == (picture.width, picture.height)]
        if same_size:
            renditions[same_size[0]] = min(renditions[same_size[0]], candidate, key=lambda r: r.bit_rate)
        else:
            renditions.append(candidate)
    renditions.sort(key=lambda r: (r.picture.width * r.picture.height, r.bit_rate), reverse=True)
    named = tuple(Rendition(f"v{i}", r.picture, r.bit_rate, r.frame_rate, r.level, r.crf) for i, r in enumerate(renditions))
    return Ladder(named, source.duration, source.has_audio and not options.no_audio)


@dataclass(frozen=True)
class _Options:
    """The non-geometric settings a chain gives every rendition."""

    bit_rate: int | None = None
    fps: float | None = None
    crf: int | None = None
    no_audio: bool = False

    @classmethod
    def of(cls, components: tuple[Component, ...]) -> _Options:
        found = cls()
        for component in components:
            _refuse_unsupported(component)
            if component.bit_rate:
                found = replace(found, bit_rate=bits_per_second(component.bit_rate))
            if component.fps:
                found = replace(found, fps=_fps(component.fps))
            if component.quality is not None and component.quality.level is not None:
                # A quality floor under the rung's bit-rate cap, as a transcode reads q_N.
                found = replace(found, crf=h264_crf(component.quality.level))
            if component.audio_codec == "none":
                found = replace(found, no_audio=True)
        return found


# What a streaming URL may combine with `sp_`: sizes and crops, quality, bit rate, frame rate,
# H.264 and silencing the audio; anything else is refused rather than silently dropped.
_ALLOWED_FIELDS = {"width", "height", "crop", "quality", "bit_rate", "fps", "video_codec", "audio_codec", "streaming_profile", "fetch_format"}


def _refuse_unsupported(component: Component) -> None:
    given = {name for name, value in component.__dict__.items() if value not in (None, ())}
    extra = sorted(given - _ALLOWED_FIELDS)
    if extra:
        raise Invalid(f"Transformation parameter {extra[0]} is not supported with streaming profiles")
    if component.crop not in _SUPPORTED_CROPS:
        raise Invalid(f"Crop mode {component.crop} is not supported with streaming profiles")
    if component.video_codec not in (None, "auto") and component.video_codec.split(":")[0] != "h264":
        raise Invalid(f"Video codec {component.video_codec} is not supported with streaming profiles")
    if component.audio_codec not in (None, "none", "aac"):
        raise Invalid(f"Audio codec {component.audio_codec} is not supported with streaming profiles")


def _apply(picture: Picture, components: tuple[Component, ...]) -> Picture:
    for component in components:
        width, height = _length(component.width, picture.width), _length(component.height, picture.height)
        if width is None and height is None:
            continue
        picture = _resize(picture, width, height, component.crop or "scale")
    return picture


def _length(size: object, reference: int) -> int | None:
    if size is None:
        return None
    if isinstance(size, Pixels):
        return size.value
    if isinstance(size, Relative):
        return max(1, round(reference * size.value))
    raise Invalid("Only pixel or relative sizes are supported with streaming profiles")


def _resize(picture: Picture, width: int | None, height: int | None, crop: str) -> Picture:
    cur_w, cur_h = picture.width, picture.height
    if crop in ("fill", "lfill") and width and height:
        if crop == "lfill" and width > cur_w and height > cur_h:
            width, height = _fit(width, height, cur_w, cur_h)
        return _even(_crop_to_aspect(picture, width / height), width, height)
    if width and height and crop == "scale":
        return _even(picture, width, height)
    scale = min(width / cur_w if width else math.inf, height / cur_h if height else math.inf)
    if crop == "limit":
        scale = min(scale, 1.0)
    return _even(picture, cur_w * scale, cur_h * scale)


def _fit(box_w: int, box_h: int, w: int, h: int) -> tuple[int, int]:
    scale = min(w / box_w, h / box_h)
    return round(box_w * scale), round(box_h * scale)


def _crop_to_aspect(picture: Picture, aspect: float) -> Picture:
    """The centre of the picture's source region with the given width/height ratio."""
    x, y, w, h = (float(value) for value in picture.crop)
    source_aspect = picture.width / picture.height
    if aspect < source_aspect:  # narrower: cut the sides
        keep = w * aspect / source_aspect
        x, w = x + (w - keep) / 2, keep
    else:
        keep = h * source_aspect / aspect
        y, h = y + (h - keep) / 2, keep
    return Picture((round(x), round(y), max(2, round(w)), max(2, round(h))), picture.width, picture.height)


def _even(picture: Picture, width: float, height: float) -> Picture:
    return Picture(picture.crop, even(width), even(height))


def _fps(text: str) -> float | None:
    """A fixed rate (`fps_25`) or the upper end of a range (`fps_-30`, `fps_15-30`)."""
    upper = text.rsplit("-", 1)[-1]
    return float(upper) if upper else None


def _default_bit_rate(picture: Picture) -> int:
    """About 0.1 bit per pixel per frame at 30 fps: what a rung without `br_` gets."""
    return max(200_000, int(picture.width * picture.height * 30 * 0.1))


# H.264 levels (Annex A): (level_idc, max macroblocks per frame, max macroblocks per second).
_LEVELS = ((30, 1620, 40500), (31, 3600, 108000), (32, 5120, 216000), (40, 8192, 245760), (42, 8704, 522240),
           (50, 22080, 589824), (51, 36864, 983040), (52, 36864, 2073600))


def _h264_level(width: int, height: int, fps: float) -> str:
    blocks = math.ceil(width / 16) * math.ceil(height / 16)
    for idc, frame, rate in _LEVELS:
        if blocks <= frame and blocks * fps <= rate:
            return f"{idc:02x}"
    return f"{_LEVELS[-1][0]:02x}"


# ---------------------------------------------------------------------------------------------
# Manifests (pure). `prefix` is the master's own last path segment ("dog.m3u8"), escaped, so
# every URI is relative to the master and stays on darkroom's delivery route under it.


def hls_master(ladder: Ladder, prefix: str) -> str:
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    audio = ',AUDIO="audio"' if ladder.has_audio and ladder.renditions else ""
    if ladder.has_audio:
        lines.append(f'#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="default",DEFAULT=YES,AUTOSELECT=YES,'
                     f'CHANNELS="2",URI="{_child(prefix, AUDIO_TRACK + ".m3u8")}"')
    for rendition in ladder.renditions:
        codecs = rendition.codecs + (",mp4a.40.2" if ladder.has_audio else "")
        bandwidth = rendition.bandwidth + (AUDIO_BIT_RATE if ladder.has_audio else 0)
        picture = rendition.picture
        lines.append(f'#EXT-X-STREAM-INF:BANDWIDTH={bandwidth},AVERAGE-BANDWIDTH={rendition.bit_rate + AUDIO_BIT_RATE},'
                     f'RESOLUTION={picture.width}x{picture.height},FRAME-RATE={rendition.frame_rate:.3f},'
                     f'CODECS="{codecs}"{audio}')
        lines.append(_child(prefix, f"{rendition.track}.m3u8"))
    if not ladder.renditions:  # audio only: the audio playlist is the one variant
        lines.append(f'#EXT-X-STREAM-INF:BANDWIDTH={AUDIO_BIT_RATE},CODECS="mp4a.40.2"')
        lines.append(_child(prefix, f"{AUDIO_TRACK}.m3u8"))
    return "\n".join(lines) + "\n"


def hls_media_playlist(ladder: Ladder, track: str) -> str:
    """One track's segment list; its URIs are relative to the playlist (`…/dog.m3u8/v0.m3u8`)."""
    target = math.ceil(max(ladder.segment(i)[1] for i in range(min(2, ladder.segment_count))))
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", f"#EXT-X-TARGETDURATION:{target}",
             "#EXT-X-MEDIA-SEQUENCE:0", "#EXT-X-PLAYLIST-TYPE:VOD", "#EXT-X-INDEPENDENT-SEGMENTS",
             f'#EXT-X-MAP:URI="{track}/init.mp4"']
    for index in range(ladder.segment_count):
        _, length = ladder.segment(index)
        lines += [f"#EXTINF:{length:.3f},", f"{track}/{index}.m4s"]
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def dash_manifest(ladder: Ladder, prefix: str) -> str:
    """A static MPD (isoff-live profile): one adaptation set per media type, `$Number$` templates."""
    duration = f"PT{ladder.duration:.3f}S"
    base = _child(prefix, "").replace("$", "$$")
    timeline = _timeline(ladder)

    def template(track: str) -> str:
        return (f'<SegmentTemplate timescale="1000" startNumber="0" initialization={quoteattr(base + track + "/init.mp4")} '
                f'media={quoteattr(base + track + "/$Number$.m4s")}>{timeline}</SegmentTemplate>')

    parts = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011" type="static" '
             f'mediaPresentationDuration="{duration}" minBufferTime="PT{ladder.segment_seconds:g}S">',
             f'<Period id="0" start="PT0S" duration="{duration}">']
    if ladder.renditions:
        parts.append('<AdaptationSet id="0" contentType="video" mimeType="video/mp4" segmentAlignment="true" startWithSAP="1">')
        for r in ladder.renditions:
            parts.append(f'<Representation id="{r.track}" codecs="{r.codecs}" bandwidth="{r.bandwidth}" width="{r.picture.width}" '
                         f'height="{r.picture.height}" frameRate="{r.frame_rate:g}" sar="1:1">{template(r.track)}</Representation>')
        parts.append("</AdaptationSet>")
    if ladder.has_audio:
        parts.append('<AdaptationSet id="1" contentType="audio" mimeType="audio/mp4" lang="und" segmentAlignment="true" startWithSAP="1">')
        parts.append(f'<Representation id="{AUDIO_TRACK}" codecs="mp4a.40.2" bandwidth="{AUDIO_BIT_RATE}" audioSamplingRate="48000">'
                     f'<AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="2"/>'
                     f'{template(AUDIO_TRACK)}</Representation>')
        parts.append("</AdaptationSet>")
    parts += ["</Period>", "</MPD>"]
    return "\n".join(parts) + "\n"


@dataclass(frozen=True)
class StreamChild:
    """A file under a master manifest's URL: a track's playlist, init header or segment."""

    master: str  # the master's name as the URL has it ("folder/dog.m3u8")
    track: str  # "v0", "v1", …, or "a"
    part: str  # "playlist", "init" or "segment"
    index: int = 0  # the segment's number (from 0)

    @property
    def suffix(self) -> str:
        """What follows the master's name in the URL (the inverse of `parse_child`)."""
        if self.part == "playlist":
            return f"{self.track}.m3u8"
        return f"{self.track}/init.mp4" if self.part == "init" else f"{self.track}/{self.index}.m4s"


_CHILD = re.compile(r"^(?P<master>.+\.(?:m3u8|mpd))/(?:(?P<playlist>v\d{1,2}|a)\.m3u8|(?P<track>v\d{1,2}|a)/(?:(?P<init>init\.mp4)|(?P<index>\d{1,6})\.m4s))$")


def parse_child(name: str) -> StreamChild | None:
    """`folder/dog.m3u8/v0/3.m4s` → the master `folder/dog.m3u8`, track `v0`, segment 3; None
    for a name that is no file of a ladder (the URIs `hls_master` and friends write)."""
    match = _CHILD.match(name)
    if match is None:
        return None
    master = match.group("master")
    if match.group("playlist"):
        return StreamChild(master, match.group("playlist"), "playlist")
    if match.group("init"):
        return StreamChild(master, match.group("track"), "init")
    return StreamChild(master, match.group("track"), "segment", int(match.group("index")))


def _timeline(ladder: Ladder) -> str:
    """`<SegmentTimeline>` in milliseconds, runs of equal segments as one `<S r=…>`."""
    edges = [round(ladder.start(i) * 1000) for i in range(ladder.segment_count)] + [round(ladder.duration * 1000)]
    runs: list[list[int]] = []  # [start, duration, repeats]
    for start, end in zip(edges, edges[1:]):
        if runs and runs[-1][1] == end - start:
            runs[-1][2] += 1
        else:
            runs.append([start, end - start, 0])
    items = "".join(f'<S t="{t}" d="{d}"' + (f' r="{r}"' if r else "") + "/>" for t, d, r in runs)
    return f"<SegmentTimeline>{items}</SegmentTimeline>"


def _child(prefix: str, rest: str) -> str:
    """`dog.m3u8/v0.m3u8`; `./` first so a public ID with a `:` is not read as a URI scheme."""
    return f"./{prefix}/{rest}"


# ---------------------------------------------------------------------------------------------
# Encoding one segment


@dataclass(frozen=True)
class Track:
    """What to encode: a video rendition, or the audio track (rendition None)."""

    rendition: Rendition | None

    @property
    def name(self) -> str:
        return self.rendition.track if self.rendition else AUDIO_TRACK


# Fragmented MP4 timed at the segment's real position: the same muxer options for a video
# segment (as ffmpeg options) and for the audio segment muxer (as its format options).
_MP4_OPTIONS = {"movflags": "+frag_keyframe+empty_moov+default_base_moof+frag_discont+skip_trailer", "use_editlist": "0", "avoid_negative_ts": "disabled"}
_FRAGMENTED = [argument for name, value in _MP4_OPTIONS.items() for argument in (f"-{name}", value)]


def encode_segment(source: Path, out: Path, track: Track, start: float, length: float, *, timeout: float,
                   background: bool = False) -> None:
    """Encode `length` seconds from `start` of one video track into a fragmented MP4 at `out`.

    The file holds the track's initialization header and then the segment's fragment,
    timed at its real position in the presentation (`split_header` separates them).
    """
    _run(["-ss", f"{start:.6f}", "-t", f"{length:.6f}", "-i", str(source),
          *_track_arguments(track), "-output_ts_offset", f"{start:.6f}", *_FRAGMENTED, "-f", "mp4", str(out)], timeout, background)
    if not out.exists() or out.stat().st_size == 0:
        raise EncodeFailed("Video segment could not be produced", detail="ffmpeg wrote nothing")


def audio_group(ladder: Ladder, index: int) -> range:
    """The audio segments encoded together with segment `index` (one run, one AAC stream).

    The first group is short (`AUDIO_FIRST_GROUP` segments, 14 s) so that first play waits
    for little audio; the later ones are `AUDIO_GROUP` segments long.
    """
    if index < AUDIO_FIRST_GROUP:
        return range(0, min(AUDIO_FIRST_GROUP, ladder.segment_count))
    first = AUDIO_FIRST_GROUP + (index - AUDIO_FIRST_GROUP) // AUDIO_GROUP * AUDIO_GROUP
    return range(first, min(first + AUDIO_GROUP, ladder.segment_count))


def encode_audio_segments(source: Path, folder: Path, ladder: Ladder, group: range, *, timeout: float,
                          background: bool = False) -> list[Path]:
    """Encode the audio of a group of segments as one AAC stream, cut at the segment edges.

    One continuous encode, so the segments meet exactly (an encode per segment would repeat
    AAC's priming frame at every edge: a click every few seconds); ffmpeg's segment muxer
    cuts at the first audio frame at or after each edge. Returns a fragmented MP4 per segment.
    """
    start = ladder.start(group.start)
    last_start, last_length = ladder.segment(group.stop - 1)
    cuts = ",".join(f"{ladder.start(i) - start:.6f}" for i in group[1:])
    options = ":".join(f"{name}={value}" for name, value in _MP4_OPTIONS.items())
    _run(["-ss", f"{start:.6f}", "-t", f"{last_start + last_length - start:.6f}",
          "-i", str(source), *_track_arguments(Track(None)), "-output_ts_offset", f"{start:.6f}",
          "-f", "segment", *(["-segment_times", cuts] if cuts else []), "-segment_format", "mp4",
          "-segment_format_options", options, "-reset_timestamps", "0", str(folder / "audio%d.mp4")], timeout, background)
    files = [folder / f"audio{n}.mp4" for n in range(len(group))]
    if not all(file.exists() and file.stat().st_size > 0 for file in files):
        raise EncodeFailed("Video segment could not be produced", detail=f"audio group {group}: ffmpeg wrote fewer segments")
    return files


def _run(args: list[str], timeout: float, background: bool) -> None:
    """Run ffmpeg (`background`: segments made ahead of a player, at a lower CPU priority)."""
    try:
        run_ffmpeg(args, timeout=timeout, low_priority=background)
    except (TranscodeFailed, TranscodeTimedOut) as error:
        raise EncodeFailed("Video segment could not be produced", detail=error.detail) from None


def _track_arguments(track: Track) -> list[str]:
    rendition = track.rendition
    if rendition is None:
        return ["-map", "0:a:0", "-vn", "-sn", "-dn", "-c:a", "aac", "-b:a", str(AUDIO_BIT_RATE), "-ar", "48000", "-ac", "2"]
    x, y, w, h = rendition.picture.crop
    picture = rendition.picture
    filters = f"crop={w}:{h}:{x}:{y},scale={picture.width}:{picture.height},setsar=1,fps={rendition.frame_rate:g},format=yuv420p"
    # One GOP per segment: the first frame is the only keyframe, so every segment is one fragment.
    frames = math.ceil(rendition.frame_rate * SEGMENT_SECONDS) + 1
    rate = rendition.bit_rate
    quality = ["-crf", str(rendition.crf)] if rendition.crf is not None else ["-b:v", str(rate)]
    return ["-map", "0:v:0", "-an", "-sn", "-dn", "-vf", filters, "-c:v", "libx264", "-preset", X264_PRESET,
            "-profile:v", "high", "-level:v", str(int(rendition.level, 16) / 10), *quality, "-maxrate", str(rate),
            "-bufsize", str(rate * 2), "-bf", "0", "-g", str(frames), "-keyint_min", str(frames), "-sc_threshold", "0"]


def split_header(file: BinaryIO) -> int:
    """The length of the initialization header (`ftyp` + `moov`) at the start of an fMP4:
    the offset of its first `moof`. Invalid if the file has no fragment."""
    offset = 0
    while True:
        file.seek(offset)
        head = file.read(16)
        if len(head) < 8:
            raise Invalid("Segment has no media fragment")
        size, kind = int.from_bytes(head[:4], "big"), head[4:8]
        if size == 1 and len(head) == 16:
            size = int.from_bytes(head[8:16], "big")
        if kind == b"moof":
            return offset
        if size < 8:
            raise Invalid("Malformed MP4 box in segment")
        offset += size
