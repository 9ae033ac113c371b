"""The table from each URL key to the Cloudinary option it sets and how to read it.

This is the only module that knows the short keys. The table's order is the order the
official SDKs write keys in a component (alphabetical), which the serializer reuses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from darkroom.transform import values as v
from darkroom.transform.ast import Background, Border, Expression, Flag, Quality, Radius
from darkroom.transform.colors import parse_color
from darkroom.transform.effects import format_effect, parse_effect
from darkroom.transform.errors import ParseError
from darkroom.transform.layers import format_layer, parse_layer
from darkroom.vocabulary import OBJECT_NAMES

CROP_MODES = frozenset(
    "scale fit limit mfit fill lfill pad lpad mpad fill_pad crop thumb auto auto_pad imagga_crop imagga_scale".split()
)
COMPASS = frozenset("center north north_east east south_east south south_west west north_west".split())
GRAVITIES = COMPASS | frozenset(
    """xy_center face faces face:center faces:center face:auto faces:auto auto auto:subject auto:classic
    auto:face auto:faces custom custom:face custom:faces custom:adv_faces custom:adv_face adv_face adv_faces
    adv_eyes ocr_text ocr_text:adv_ocr auto:ocr_text body liquid""".split()
)
AUTO_GRAVITY_CROPS = frozenset("fill lfill fill_pad crop thumb auto auto_pad".split())
FORMATS = frozenset(
    """auto auto:image auto:animated auto:video jpg jpeg jpe png webp avif gif bmp tiff tif ico pdf svg heic heif jxl jp2 wdp tga
    mp4 webm ogv mov m3u8 mpd flv mkv mp3 wav ogg aac m4a flac opus vtt""".split()
)
FLAGS = frozenset(
    """layer_apply relative no_overflow progressive lossy preserve_transparency png8 png24 png32 attachment
    keep_iptc keep_attribution strip_profile immutable_cache animated awebp any_format getinfo original splice
    force_strip force_icc ignore_aspect_ratio clip clip_evenodd cutter tiled region_relative text_no_trim
    text_disallow_overflow truncate_ts no_stream streaming_attachment mono draco hlsv3 waveform sanitize
    apng ignore_mask_channels tiff8_lzw replace_image lowres alternate rasterize sprite""".split()
)
# Other spellings of a format, as URLs write them → Cloudinary's name (`f_jpeg` is `f_jpg`).
FORMAT_ALIASES = {"jpeg": "jpg", "jpe": "jpg", "tif": "tiff", "heif": "heic"}
_FLAG_WITH_ARG = frozenset(("attachment", "progressive", "streaming_attachment", "alternate"))
ANGLE_MODES = frozenset("auto_right auto_left hflip vflip ignore".split())
QUALITY_AUTO = frozenset("best good eco low".split())


@dataclass(frozen=True)
class Param:
    """One URL key: the Component field it sets, how to parse and format its value."""

    key: str
    field: str
    parse: Callable[[str, str], Any]
    format: Callable[[Any], str] = str
    repeats: bool = False  # several values accumulate (effects, flags) instead of replacing


def _angle(key: str, text: str) -> tuple[int | float | str, ...]:
    result = [part if part in ANGLE_MODES else v.number(key, "angle", part, low=-36000, high=36000) for part in text.split(".")]
    if any(not isinstance(p, str) for p in result[:-1]):  # only the last of several may be a number
        raise ParseError(f"Invalid angle parameter - {text}", param=key)
    return tuple(result)


def _format_angle(value: tuple[int | float | str, ...]) -> str:
    return ".".join(p if isinstance(p, str) else v.format_number(p) for p in value)


def _background(key: str, text: str) -> Background:
    if text == "auto" or text.startswith("auto:"):
        args = tuple(text.split(":")[1:]) or ("border",)
        mode = re.fullmatch(
            r"(border|predominant|border_contrast|predominant_contrast)|(predominant_gradient|border_gradient)(:[24])?(:palette.*)?",
            ":".join(args),
        )
        if mode is None:
            raise ParseError(f"Invalid background parameter - {text}", param=key)
        return Background("auto", args=args)
    if text == "blurred" or text.startswith("blurred:"):
        args = tuple(text.split(":")[1:])
        if len(args) > 2 or not all(re.fullmatch(r"-?\d{1,4}", a) for a in args):
            raise ParseError(f"Invalid background parameter - {text}", param=key)
        return Background("blurred", args=tuple(str(int(a)) for a in args))
    if text == "gen_fill" or text.startswith("gen_fill:"):
        return Background("gen_fill", args=tuple(v.word(key, "background", a) for a in text.split(":")[1:]))
    return Background("color", color=parse_color(key, text))


def _format_background(value: Background) -> str:
    if value.kind == "color":
        return value.color or ""
    return ":".join((value.kind,) + value.args)


def _border(key: str, text: str) -> Border:
    match = re.fullmatch(r"(\d{1,4})px_(solid)_(.+)", text)
    if match is None:
        raise ParseError(f"Invalid border parameter - {text}", param=key)
    return Border(int(match.group(1)), match.group(2), parse_color(key, match.group(3)))


def _radius(key: str, text: str) -> Radius:
    if text == "max":
        return Radius(is_max=True)
    parts = text.split(":")
    if len(parts) > 4:
        raise ParseError(f"Invalid radius parameter - {text}", param=key)
    return Radius(corners=tuple(v.integer(key, "radius", part, low=0, high=100000) for part in parts))


def _format_radius(value: Radius) -> str:
    return "max" if value.is_max else ":".join(map(str, value.corners))


def _quality(key: str, text: str) -> Quality:
    if text == "jpegmini":
        return Quality(jpegmini=True)
    if text == "auto" or text.startswith("auto:"):
        target = text[5:] or "good"
        if target not in QUALITY_AUTO:
            raise ParseError(f"Invalid quality parameter - {text}", param=key)
        return Quality(auto=target)
    level_text, _, modifier = text.partition(":")
    level = v.integer(key, "quality", level_text, low=1, high=100)
    if modifier and not re.fullmatch(r"444|420|422|qmax_\d{1,3}", modifier):
        raise ParseError(f"Invalid quality parameter - {text}", param=key)
    return Quality(level=level, modifier=modifier or None)


def _format_quality(value: Quality) -> str:
    if value.jpegmini:
        return "jpegmini"
    if value.auto is not None:
        return "auto" if value.auto == "good" else "auto:" + value.auto
    return str(value.level) + (":" + value.modifier if value.modifier else "")


def _flags(key: str, text: str) -> tuple[Flag, ...]:
    result = []
    for part in text.split("."):
        name, sep, arg = part.partition(":")
        if name not in FLAGS or (sep and (name not in _FLAG_WITH_ARG or not re.fullmatch(r"[A-Za-z0-9_\-]{1,100}", arg))):
            raise ParseError(f"Invalid flag - {part}", param=key)
        result.append(Flag(name, arg if sep else None))
    return tuple(result)


def _format_flags(value: tuple[Flag, ...]) -> str:
    return ".".join(flag.name + (":" + flag.arg if flag.arg else "") for flag in value)


def _crop(key: str, text: str) -> str:
    if text not in CROP_MODES:
        raise ParseError(f"Invalid crop mode - {text}", param=key)
    return text


def _gravity(key: str, text: str) -> str:
    if text in GRAVITIES or text in OBJECT_NAMES or re.fullmatch(r"auto:[a-z_]{1,40}(?:_\d{1,3})?", text):
        return text
    raise ParseError(f"Invalid gravity parameter - {text}", param=key)


def _dpr(key: str, text: str) -> float | str:
    if text == "auto":
        return text
    return float(v.number(key, "dpr", text, low=0.01, high=10))


def _format(key: str, text: str) -> str:
    text = text.lower()
    if text not in FORMATS:
        raise ParseError(f"Invalid fetch_format parameter - {text}", param=key)
    return FORMAT_ALIASES.get(text, text)


def _zoom(key: str, text: str) -> float:
    return float(v.number(key, "zoom", text, low=0.01, high=100))


def _opacity(key: str, text: str) -> int | Expression:
    value = v.length(key, "opacity", text, allow_negative=False)
    if isinstance(value, Expression):
        return value
    if not isinstance(value.value, int) or value.value > 100:
        raise ParseError(f"Invalid opacity parameter - {text}", param=key)
    return value.value


def _format_opacity(value: int | Expression) -> str:
    return value.text if isinstance(value, Expression) else str(value)


def _word(name: str, pattern: str = r"[A-Za-z0-9_.:\-]{1,120}") -> Callable[[str, str], str]:
    return lambda key, text: v.word(key, name, text, pattern)


_MEDIA_OFFSET = r"(?:\d{1,6}(?:\.\d{1,4})?p?|auto)"

PARAMS: tuple[Param, ...] = (
    Param("a", "angle", _angle, _format_angle),
    Param("ac", "audio_codec", _word("audio_codec", r"aac|mp3|vorbis|opus|none|[a-z0-9]{1,20}")),
    Param("af", "audio_frequency", _word("audio_frequency", r"\d{1,6}|initial|iaf")),
    Param("ar", "aspect_ratio", lambda k, t: v.aspect_ratio(k, "aspect_ratio", t), v.format_aspect_ratio),
    Param("b", "background", _background, _format_background),
    Param("bo", "border", _border, lambda b: f"{b.width}px_{b.style}_{b.color}"),
    Param("br", "bit_rate", _word("bit_rate", r"\d{1,9}(?:\.\d{1,3})?[km]?(?::constant)?")),  # 3.5m: as the predefined streaming profiles write it
    Param("c", "crop", _crop),
    Param("co", "color", parse_color),
    Param("cs", "color_space", _word("color_space", r"srgb|tinysrgb|no_cmyk|keep_cmyk|cmyk|copy|icc:[A-Za-z0-9_.\-]{1,100}")),
    Param("d", "default_image", _word("default_image", r"[A-Za-z0-9_.:\-]{1,255}")),
    Param("dl", "delay", lambda k, t: v.integer(k, "delay", t, low=0, high=100000)),
    Param("dn", "density", lambda k, t: v.integer(k, "density", t, low=1, high=10000)),
    Param("dpr", "dpr", _dpr, lambda d: d if isinstance(d, str) else v.format_number(d)),
    Param("du", "duration", _word("duration", _MEDIA_OFFSET)),
    Param("e", "effects", parse_effect, format_effect, repeats=True),
    Param("eo", "end_offset", _word("end_offset", _MEDIA_OFFSET)),
    Param("f", "fetch_format", _format),
    Param("fl", "flags", _flags, _format_flags, repeats=True),
    Param("fn", "custom_function", _word("custom_function", r"(?:wasm|remote|pre:remote):[A-Za-z0-9_=\-.:]{1,500}")),
    Param("fps", "fps", _word("fps", r"-?\d{1,3}(?:\.\d{1,3})?(?:-\d{1,3}(?:\.\d{1,3})?)?")),
    Param("g", "gravity", _gravity),
    Param("h", "height", lambda k, t: v.size(k, "height", t), v.format_length),
    Param("ki", "keyframe_interval", _word("keyframe_interval", r"\d{1,4}(?:\.\d{1,4})?")),
    Param("l", "overlay", parse_layer, format_layer),
    Param("o", "opacity", _opacity, _format_opacity),
    Param("p", "prefix", _word("prefix", r"[A-Za-z0-9_\-]{1,100}")),
    Param("pg", "page", _word("page", r"\d{1,5}(?:-\d{0,5})?(?:;\d{1,5}(?:-\d{0,5})?)*|name:[A-Za-z0-9_\-]{1,100}|embedded:\d{1,5}")),
    Param("q", "quality", _quality, _format_quality),
    Param("r", "radius", _radius, _format_radius),
    Param("so", "start_offset", _word("start_offset", _MEDIA_OFFSET)),
    Param("sp", "streaming_profile", _word("streaming_profile", r"[A-Za-z0-9_\-]{1,60}")),
    Param("u", "underlay", parse_layer, format_layer),
    Param("vc", "video_codec", _word("video_codec", r"[a-z0-9]{1,20}(?::[A-Za-z0-9_.]{1,20}){0,3}")),
    Param("vs", "video_sampling", _word("video_sampling", r"\d{1,5}(?:\.\d{1,3})?s?")),
    Param("w", "width", lambda k, t: v.size(k, "width", t), v.format_length),
    Param("x", "x", lambda k, t: v.length(k, "x", t, allow_negative=True), v.format_length),
    Param("y", "y", lambda k, t: v.length(k, "y", t, allow_negative=True), v.format_length),
    Param("z", "zoom", _zoom, v.format_number),
)

BY_KEY: dict[str, Param] = {param.key: param for param in PARAMS}
NAMED_KEY = "t"
CONDITION_KEY = "if"
