"""Crop-mode geometry: decide sizes and regions from numbers only, no pixels.

`plan_resize` turns a crop mode, a requested box and the current image size into a
`Plan` (optional pre-crop → optional resize → optional crop → optional pad); the engine
in `pipeline.py` executes it. Keeping this pure lets the tests pin the exact output size
of every crop mode without decoding an image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from darkroom.vocabulary import OBJECT_NAMES


@dataclass(frozen=True)
class Box:
    """A rectangle in pixels: left/top corner and size."""

    left: int
    top: int
    width: int
    height: int

    def scaled(self, sx: float, sy: float) -> Box:
        return Box(round(self.left * sx), round(self.top * sy), max(1, round(self.width * sx)), max(1, round(self.height * sy)))

    @property
    def center(self) -> tuple[float, float]:
        return self.left + self.width / 2, self.top + self.height / 2


@dataclass(frozen=True)
class Placement:
    """Where a window goes: a gravity plus x/y offsets in pixels (None = not given)."""

    gravity: str = "center"
    x: int | None = None
    y: int | None = None
    focus: Box | None = None  # the subject (faces, saliency) in the coordinates of the space


@dataclass(frozen=True)
class Plan:
    """Steps to execute in order; None skips a step. Each step's coordinates are in the
    image as it is after the previous step."""

    pre_crop: Box | None = None  # cut before scaling (crop, thumb, lfill on small images)
    resize: tuple[int, int] | None = None  # scale the whole image to exactly w×h
    crop: Box | None = None  # cut after scaling (fill)
    pad: tuple[int, int, int, int] | None = None  # canvas w×h, image placed at left, top

    def output_size(self, width: int, height: int) -> tuple[int, int]:
        if self.pre_crop:
            width, height = self.pre_crop.width, self.pre_crop.height
        if self.resize:
            width, height = self.resize
        if self.crop:
            width, height = self.crop.width, self.crop.height
        if self.pad:
            width, height = self.pad[0], self.pad[1]
        return width, height


FOCUS_GRAVITIES = ("face", "faces", "auto", "custom", "adv_face", "adv_faces", "adv_eyes", "body", "ocr_text")


def is_focus_gravity(gravity: str) -> bool:
    """Gravities that centre on a detected subject rather than an edge."""
    return gravity.split(":")[0] in FOCUS_GRAVITIES or gravity.startswith("auto") or gravity in OBJECT_NAMES


def _axis(space: int, edge: str, near: str, far: str, offset: int | None) -> int:
    """Position along one axis: at the near edge, the far edge or centred; offsets push inward."""
    if near in edge:
        return offset or 0
    if far in edge:
        return space - (offset or 0)
    return space // 2 + (offset or 0)


def place(window: tuple[int, int], space_size: tuple[int, int], where: Placement, *, clamp: bool = True) -> tuple[int, int]:
    """Left/top of a `window` inside a space (crop window in an image, or an image on a pad canvas,
    or a layer on a base). With `clamp`, the window stays inside the space."""
    free_x, free_y = space_size[0] - window[0], space_size[1] - window[1]
    gravity = where.gravity or "center"
    if gravity == "xy_center":
        left, top = (where.x or 0) - window[0] // 2, (where.y or 0) - window[1] // 2
    elif is_focus_gravity(gravity) and where.focus is not None:
        cx, cy = where.focus.center
        left, top = round(cx - window[0] / 2) + (where.x or 0), round(cy - window[1] / 2) + (where.y or 0)
    else:
        compass = gravity if gravity not in FOCUS_GRAVITIES and not gravity.startswith(FOCUS_GRAVITIES) else "center"
        left = _axis(free_x, compass, "west", "east", where.x)
        top = _axis(free_y, compass, "north", "south", where.y)
    if clamp:
        left = min(max(left, 0), max(free_x, 0))
        top = min(max(top, 0), max(free_y, 0))
    return left, top


def _box(size: tuple[int, int], space: tuple[int, int], where: Placement) -> Box:
    left, top = place(size, space, where)
    return Box(left, top, size[0], size[1])


def _scaled(width: int, height: int, factor: float) -> tuple[int, int]:
    return max(1, round(width * factor)), max(1, round(height * factor))


def _fit_factor(width: int, height: int, box_w: int | None, box_h: int | None) -> float:
    ratios = [r for r in (box_w / width if box_w else None, box_h / height if box_h else None) if r is not None]
    return min(ratios)


def _fill_factor(width: int, height: int, box_w: int, box_h: int) -> float:
    return max(box_w / width, box_h / height)


def _scale(width: int, height: int, box_w: int | None, box_h: int | None) -> Plan:
    if box_w and box_h:
        return Plan(resize=(box_w, box_h))
    return Plan(resize=_scaled(width, height, _fit_factor(width, height, box_w, box_h)))


def _fit(width: int, height: int, box_w: int | None, box_h: int | None, *, grow: bool, shrink: bool) -> Plan:
    factor = _fit_factor(width, height, box_w, box_h)
    if (factor > 1 and not grow) or (factor < 1 and not shrink):
        return Plan()
    return Plan(resize=_scaled(width, height, factor))


def _fill(width: int, height: int, box_w: int, box_h: int, where: Placement) -> Plan:
    factor = _fill_factor(width, height, box_w, box_h)
    resized = max(box_w, round(width * factor)), max(box_h, round(height * factor))
    focus = where.focus.scaled(resized[0] / width, resized[1] / height) if where.focus else None
    crop = _box((box_w, box_h), resized, Placement(where.gravity, where.x, where.y, focus))
    return Plan(resize=resized, crop=crop if (box_w, box_h) != resized else None)


def _lfill(width: int, height: int, box_w: int, box_h: int, where: Placement) -> Plan:
    if width <= box_w and height <= box_h:
        return Plan()
    if _fill_factor(width, height, box_w, box_h) <= 1:
        return _fill(width, height, box_w, box_h, where)
    # Too small on one axis: keep the requested aspect ratio without enlarging.
    k = min(width / box_w, height / box_h)
    window = min(width, max(1, round(box_w * k))), min(height, max(1, round(box_h * k)))
    return Plan(pre_crop=_box(window, (width, height), where))


def _pad(width: int, height: int, box_w: int | None, box_h: int | None, where: Placement, *, grow: bool, shrink: bool) -> Plan:
    factor = _fit_factor(width, height, box_w, box_h)
    if factor < 1 and not shrink:  # mpad: a larger original is left alone
        return Plan()
    applied = factor if (factor <= 1 or grow) else 1.0
    inner = _scaled(width, height, applied) if applied != 1 else (width, height)
    canvas = box_w or inner[0], box_h or inner[1]
    canvas = max(canvas[0], inner[0]), max(canvas[1], inner[1])
    left, top = place(inner, canvas, Placement(where.gravity if not is_focus_gravity(where.gravity) else "center", where.x, where.y))
    return Plan(resize=inner if inner != (width, height) else None, pad=(canvas[0], canvas[1], left, top) if canvas != inner else None)


def _crop(width: int, height: int, box_w: int | None, box_h: int | None, where: Placement) -> Plan:
    window = min(box_w or width, width), min(box_h or height, height)
    if where.gravity in ("", "center") and (where.x is not None or where.y is not None) and where.focus is None:
        where = Placement("north_west", where.x, where.y)  # x/y alone give the top-left corner
    if window == (width, height):
        return Plan()
    return Plan(pre_crop=_box(window, (width, height), where))


def _thumb(width: int, height: int, box_w: int | None, box_h: int | None, where: Placement, zoom: float | None) -> Plan:
    if where.focus is None or not (box_w and box_h):
        if box_w and box_h:
            return _fill(width, height, box_w, box_h, where)
        return _scale(width, height, box_w, box_h)
    ratio = box_w / box_h
    z = zoom or 1.0
    # Keep the subject at about half the region, more context when zoom < 1.
    need_w, need_h = where.focus.width * 2 / z, where.focus.height * 2 / z
    region_h = max(need_h, need_w / ratio)
    region_w = region_h * ratio
    shrink = min(1.0, width / region_w, height / region_h)
    window = max(1, min(width, round(region_w * shrink))), max(1, min(height, round(region_h * shrink)))
    return Plan(pre_crop=_box(window, (width, height), where), resize=(box_w, box_h))


def _fill_pad(width: int, height: int, box_w: int, box_h: int, where: Placement) -> Plan:
    """Fill, unless that would cut away more than a third of an axis: then pad."""
    factor = _fill_factor(width, height, box_w, box_h)
    kept = min(box_w / (width * factor), box_h / (height * factor))
    if kept >= 2 / 3:
        return _fill(width, height, box_w, box_h, where)
    return _pad(width, height, box_w, box_h, Placement("center"), grow=True, shrink=True)


def plan_resize(
    mode: str | None,
    width: int,
    height: int,
    box_w: int | None,
    box_h: int | None,
    where: Placement = Placement(),
    zoom: float | None = None,
) -> Plan:
    """The plan for crop `mode` taking a `width`×`height` image to the box `box_w`×`box_h`
    (either may be None). Cloudinary's default mode, when w/h come without `c_`, is scale."""
    mode = mode or "scale"
    if box_w is None and box_h is None:
        return Plan()
    if mode == "scale":
        return _scale(width, height, box_w, box_h)
    if mode == "fit":
        return _fit(width, height, box_w, box_h, grow=True, shrink=True)
    if mode == "limit":
        return _fit(width, height, box_w, box_h, grow=False, shrink=True)
    if mode == "mfit":
        return _fit(width, height, box_w, box_h, grow=True, shrink=False)
    if mode in ("fill", "auto", "imagga_scale"):
        if box_w is None or box_h is None:
            return _scale(width, height, box_w, box_h)
        return _fill(width, height, box_w, box_h, where)
    if mode == "lfill":
        if box_w is None or box_h is None:
            return _fit(width, height, box_w, box_h, grow=False, shrink=True)
        return _lfill(width, height, box_w, box_h, where)
    if mode == "pad":
        return _pad(width, height, box_w, box_h, where, grow=True, shrink=True)
    if mode == "lpad":
        return _pad(width, height, box_w, box_h, where, grow=False, shrink=True)
    if mode == "mpad":
        return _pad(width, height, box_w, box_h, where, grow=True, shrink=False)
    if mode in ("fill_pad", "auto_pad"):
        if box_w is None or box_h is None:
            return _scale(width, height, box_w, box_h)
        return _fill_pad(width, height, box_w, box_h, where)
    if mode in ("crop", "imagga_crop"):
        return _crop(width, height, box_w, box_h, where)
    if mode == "thumb":
        return _thumb(width, height, box_w, box_h, where, zoom)
    raise ValueError(f"unknown crop mode {mode}")


def derive_box(
    width: int, height: int, box_w: int | None, box_h: int | None, aspect_ratio: float | None
) -> tuple[int | None, int | None]:
    """Fill in the missing side from `ar_`; with neither side, the largest box of that ratio."""
    if aspect_ratio is None or aspect_ratio <= 0:
        return box_w, box_h
    if box_w and not box_h:
        return box_w, max(1, round(box_w / aspect_ratio))
    if box_h and not box_w:
        return max(1, round(box_h * aspect_ratio)), box_h
    if not box_w and not box_h:
        if width / height > aspect_ratio:
            return max(1, round(height * aspect_ratio)), height
        return width, max(1, round(width / aspect_ratio))
    return box_w, box_h


def rotated_size(width: int, height: int, degrees: float) -> tuple[int, int]:
    """Bounding box of a `width`×`height` image rotated by `degrees`."""
    radians = math.radians(degrees % 360)
    cos, sin = abs(math.cos(radians)), abs(math.sin(radians))
    return max(1, round(width * cos + height * sin)), max(1, round(width * sin + height * cos))
