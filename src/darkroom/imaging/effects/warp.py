"""`e_distort`: move the four corners (a perspective warp) or bend the picture into an arc.

    e_distort:x1:y1:x2:y2:x3:y3:x4:y4   top-left, top-right, bottom-right, bottom-left land
                                         on these points; the canvas is their bounding box
    e_distort:arc:<degrees>              the top edge becomes an arc of that many degrees
                                         (360 closes a ring); a negative angle bends downwards

Both are inverse maps: for every output pixel, where in the source it comes from
(`mapim`); what maps outside the source is transparent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy
import pyvips

from darkroom.imaging.effects.base import EffectContext
from darkroom.imaging.errors import TooManyPixels, UnsupportedTransformation
from darkroom.imaging.layers import with_alpha
from darkroom.transform import Effect

__all__ = ["distort"]

MAX_CANVAS_PIXELS = 40_000_000  # the output limit's default: a warp may not grow past it


def distort(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    args = effect.args
    if args[:1] == ("arc",) and len(args) == 2:
        return _arc(with_alpha(image), effect.bounded(1, -360, 360, signed=True))
    if len(args) != 8:
        raise UnsupportedTransformation(f"Invalid effect parameter - distort:{':'.join(args)}")
    corners = [(effect.bounded(i, -100_000, 100_000, signed=True), effect.bounded(i + 1, -100_000, 100_000, signed=True)) for i in range(0, 8, 2)]
    return _perspective(with_alpha(image), corners)


def _check_canvas(width: int, height: int) -> None:
    if width * height > MAX_CANVAS_PIXELS:
        raise TooManyPixels("Image is too large to process", detail=f"distort canvas {width}x{height}")


def _homography(source: Sequence[tuple[float, float]], target: Sequence[tuple[float, float]]) -> numpy.ndarray:
    """The 3×3 matrix taking each `source` point to its `target` point."""
    rows, values = [], []
    for (x, y), (u, v) in zip(source, target):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        values += [u, v]
    try:
        solved = numpy.linalg.solve(numpy.array(rows, dtype=float), numpy.array(values, dtype=float))
    except numpy.linalg.LinAlgError:
        raise UnsupportedTransformation("Invalid effect parameter - distort: the corners must form a quadrilateral") from None
    return numpy.append(solved, 1.0).reshape(3, 3)


def _perspective(image: pyvips.Image, corners: list[tuple[int, int]]) -> pyvips.Image:
    xs, ys = [x for x, _ in corners], [y for _, y in corners]
    left, top = min(xs), min(ys)
    width, height = max(1, max(xs) - left), max(1, max(ys) - top)
    _check_canvas(width, height)
    w, h = image.width, image.height
    placed = [(x - left, y - top) for x, y in corners]
    # Output point → source point: the inverse direction, so every output pixel is filled once.
    inverse = _homography(placed, [(0, 0), (w, 0), (w, h), (0, h)])
    xy = pyvips.Image.xyz(width, height) + 0.5
    x, y = xy.extract_band(0), xy.extract_band(1)
    (a, b, c), (d, e, f), (g, k, m) = inverse.tolist()
    denominator = x * g + y * k + m
    source_x = (x * a + y * b + c) / denominator - 0.5
    source_y = (x * d + y * e + f) / denominator - 0.5
    return _sample(image, source_x, source_y)


def _arc(image: pyvips.Image, degrees: int) -> pyvips.Image:
    if degrees < 0:
        return _arc(image.rotate(180), -degrees).rotate(180)
    w, h = image.width, image.height
    sweep = math.radians(degrees)
    middle = w / sweep  # the picture's middle line keeps its length along the arc
    outer, inner = middle + h / 2, max(0.0, middle - h / 2)
    half = sweep / 2
    # The bounding box of the ring sector, centred on the arc's centre.
    sides = [outer * math.sin(t) for t in (-half, half)] + [inner * math.sin(t) for t in (-half, half)]
    heights = [-outer * math.cos(t) for t in (-half, half)] + [-inner * math.cos(t) for t in (-half, half)]
    if half >= math.pi / 2:
        sides += [-outer, outer]
    if half >= math.pi:
        heights.append(outer)
    heights.append(-outer)
    left, right = min(sides), max(sides)
    top, bottom = min(heights), max(heights)
    width, height = max(1, math.ceil(right - left)), max(1, math.ceil(bottom - top))
    _check_canvas(width, height)
    xy = pyvips.Image.xyz(width, height) + 0.5
    dx, dy = xy.extract_band(0) + left, xy.extract_band(1) + top
    radius = (dx * dx + dy * dy) ** 0.5
    angle = _atan2(dx, -dy)  # 0 straight up, clockwise positive
    source_x = (angle + half) / sweep * w - 0.5
    source_y = (outer - radius) / max(outer - inner, 1e-6) * h - 0.5
    return _sample(image, source_x, source_y)


def _atan2(y: pyvips.Image, x: pyvips.Image) -> pyvips.Image:
    """atan2 in radians, -π to π, for images (libvips' answers in degrees, 0 to 360)."""
    degrees = y.math2(x, "atan2")
    return (degrees > 180).ifthenelse(degrees - 360, degrees) * (math.pi / 180)


def _sample(image: pyvips.Image, source_x: pyvips.Image, source_y: pyvips.Image) -> pyvips.Image:
    """Pixels of `image` (with alpha) at the given source positions; outside it, transparent."""
    inside = (source_x >= -0.5) & (source_x < image.width - 0.5) & (source_y >= -0.5) & (source_y < image.height - 0.5)
    index = source_x.bandjoin(source_y)
    sampled = image.mapim(index, interpolate=pyvips.Interpolate.new("bilinear"), extend="copy")
    return inside.ifthenelse(sampled, [0, 0, 0, 0]).cast("uchar")
