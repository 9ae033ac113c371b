"""Resize and crop of a video component as ffmpeg filters, planned from the frame size (pure).

    plan_resize(component, width=1920, height=1080) → (["scale=640:360", "setsar=1"], 640, 360)

Crop modes as Cloudinary defines them: `scale` (the default with a size; one side keeps the
aspect ratio), `fit`, `limit` (fit, never enlarging), `mfit` (fit, never shrinking), `fill`
and `lfill` (cover the box, then crop at the gravity; `lfill` never enlarges), `pad`,
`lpad`, `mpad` (fit, then pad to the box with `b_`; `lpad` never enlarges, `mpad` never
shrinks nor enlarges), `crop` (cut the box out at the gravity
and `x`/`y`, no scaling); `thumb` and `auto` crop like `fill` (no face or saliency detection
on video: gravity `auto`/`face*` is the centre). Video encoders want even sides: every size
is rounded down to an even number (at least 2).
"""

from __future__ import annotations

import math

from darkroom.transform import AspectRatio, Component, Pixels, Relative, rgba
from darkroom.video.outputs import UnsupportedVideoTransformation

__all__ = ["even", "gravity_offsets", "plan_resize", "needs_resize"]

_FILL_MODES = frozenset(("fill", "lfill", "fill_pad", "thumb", "auto"))
_PAD_MODES = frozenset(("pad", "lpad", "mpad", "auto_pad"))
_FIT_MODES = frozenset(("fit", "limit", "mfit"))
MAX_SIDE = 8192  # largest output side; above any player's screen


def even(value: float) -> int:
    """`value` rounded to the nearest even whole number, at least 2."""
    return max(2, int(round(value / 2)) * 2)


def needs_resize(component: Component) -> bool:
    return component.width is not None or component.height is not None or component.aspect_ratio is not None or component.crop is not None


def _length(value: object, reference: int, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, Pixels):
        result = value.value
    elif isinstance(value, Relative):
        result = round(value.value * reference)
    else:
        raise UnsupportedVideoTransformation(f"Unsupported {name} for video - automatic or computed sizes are not supported")
    if not 0 < result <= MAX_SIDE:
        raise UnsupportedVideoTransformation(f"Invalid {name} for video - {result}; at most {MAX_SIDE}")
    return result


def _box(component: Component, width: int, height: int) -> tuple[int | None, int | None]:
    """The width and height asked for, with `ar_` filling in a missing side."""
    w = _length(component.width, width, "width")
    h = _length(component.height, height, "height")
    ratio = component.aspect_ratio
    if ratio is None:
        return w, h
    if not isinstance(ratio, AspectRatio) or ratio.value <= 0:
        raise UnsupportedVideoTransformation("Unsupported aspect_ratio for video - computed ratios are not supported")
    if w is None and h is None:
        if width / height > ratio.value:
            h = height
        else:
            w = width
    if w is None and h is not None:
        w = round(h * ratio.value)
    elif h is None and w is not None:
        h = round(w / ratio.value)
    return w, h


def gravity_offsets(gravity: str | None, outer: tuple[int, int], inner: tuple[int, int]) -> tuple[int, int]:
    """Top-left corner of an `inner` box placed in an `outer` one at a compass gravity
    (anything else, such as `auto` or `face`, is the centre)."""
    spare_w, spare_h = outer[0] - inner[0], outer[1] - inner[1]
    g = (gravity or "center").split(":")[0]
    x = 0 if "west" in g else spare_w if "east" in g else spare_w // 2
    y = 0 if "north" in g else spare_h if "south" in g else spare_h // 2
    return x, y


def _hex_color(component: Component) -> str:
    background = component.background
    if background is None:
        return "black"
    if background.kind != "color" or background.color is None:
        raise UnsupportedVideoTransformation(f"Unsupported background for video - b_{background.kind}")
    red, green, blue, _ = rgba(background.color)
    return f"0x{red:02x}{green:02x}{blue:02x}"


def plan_resize(component: Component, width: int, height: int) -> tuple[list[str], int, int]:
    """The filters that size a `width`×`height` frame as `component` asks, and the new size."""
    mode = component.crop or "scale"
    w, h = _box(component, width, height)
    if w is None and h is None:
        return [], width, height
    if mode == "scale":
        new_w = w if w is not None else width * (h or height) / height
        new_h = h if h is not None else height * (w or width) / width
        return _scaled(even(new_w), even(new_h))
    if mode in _FIT_MODES or mode in _PAD_MODES:
        factor = min((w or math.inf) / width, (h or math.inf) / height)
        if mode == "mpad" and factor < 1:
            return [], width, height  # mpad leaves a larger original alone
        if mode in ("limit", "lpad", "mpad"):
            factor = min(factor, 1.0)
        elif mode == "mfit":
            factor = max(factor, 1.0)
        scaled = (even(width * factor), even(height * factor))
        filters, _, _ = _scaled(*scaled)
        if mode not in _PAD_MODES:
            return filters, scaled[0], scaled[1]
        box = (even(w or scaled[0]), even(h or scaled[1]))
        box = (max(box[0], scaled[0]), max(box[1], scaled[1]))
        x, y = gravity_offsets(component.gravity, box, scaled)
        return [filters[0], f"pad={box[0]}:{box[1]}:{x}:{y}:color={_hex_color(component)}", "setsar=1"], box[0], box[1]
    if mode in _FILL_MODES:
        box_w, box_h = w or width, h or height
        factor = max(box_w / width, box_h / height)
        if mode == "lfill" and width <= box_w and height <= box_h:
            return [], width, height  # smaller than the box: left alone
        if mode == "lfill" and factor > 1:
            # Too small on one axis: the box's aspect ratio, cut out without enlarging.
            k = min(width / box_w, height / box_h)
            cut = (even(min(width, box_w * k)), even(min(height, box_h * k)))
            x, y = gravity_offsets(component.gravity, (width, height), cut)
            return [f"crop={cut[0]}:{cut[1]}:{x}:{y}", "setsar=1"], cut[0], cut[1]
        scaled = (even(width * factor), even(height * factor))
        cut = (even(min(box_w, scaled[0])), even(min(box_h, scaled[1])))
        x, y = gravity_offsets(component.gravity, scaled, cut)
        return [f"scale={scaled[0]}:{scaled[1]}", f"crop={cut[0]}:{cut[1]}:{x}:{y}", "setsar=1"], cut[0], cut[1]
    if mode == "crop":
        cut = (even(min(w or width, width)), even(min(h or height, height)))
        x, y = gravity_offsets(component.gravity or ("north_west" if component.x or component.y else None), (width, height), cut)
        x = min(max(x + _offset(component.x), 0), width - cut[0])
        y = min(max(y + _offset(component.y), 0), height - cut[1])
        return [f"crop={cut[0]}:{cut[1]}:{x}:{y}", "setsar=1"], cut[0], cut[1]
    raise UnsupportedVideoTransformation(f"Unsupported crop mode for video - c_{mode}")


def _offset(value: object) -> int:
    if value is None:
        return 0
    if isinstance(value, Pixels):
        return value.value
    raise UnsupportedVideoTransformation("Unsupported x/y for video - only whole pixels")


def _scaled(width: int, height: int) -> tuple[list[str], int, int]:
    if width > MAX_SIDE or height > MAX_SIDE:
        raise UnsupportedVideoTransformation(f"Video would be too large: {width}x{height}; at most {MAX_SIDE} pixels per side")
    return [f"scale={width}:{height}", "setsar=1"], width, height
