"""Responsive breakpoints: which widths of an image are worth keeping (pure, no pixels).

Cloudinary's rule, from its documentation of `responsive_breakpoints`: between `min_width`
and `max_width` (capped at the image's own width), keep a new width each time the file
has shrunk by another `bytes_step`, and never more than `max_images` widths (then the
step widens). The caller supplies `measure(width) -> bytes`, so this module decides and the
renderer does:

    widths = choose_breakpoints(BreakpointSettings(bytes_step=20000), 1600, measure)
    # [1000, 862, 701, 514, 50]
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from darkroom.errors import Invalid

__all__ = ["BreakpointSettings", "choose_breakpoints"]


@dataclass(frozen=True)
class BreakpointSettings:
    """One item of the `responsive_breakpoints` upload option, with Cloudinary's defaults."""

    min_width: int = 50  # px
    max_width: int = 1000  # px; capped at the image's own width
    bytes_step: int = 20000  # the least size difference between consecutive widths
    max_images: int = 20  # 1..200; when the range needs more, the step widens
    create_derived: bool = False  # keep the breakpoint images as derivatives
    transformation: str = ""  # applied before scaling
    format: str = ""  # extension of the breakpoint images; "" keeps the original's

    def __post_init__(self) -> None:
        if self.min_width < 1 or self.max_width < 1 or self.min_width > self.max_width:
            raise Invalid("Invalid responsive_breakpoints: min_width and max_width must be positive and min_width <= max_width")
        if self.bytes_step < 1:
            raise Invalid("Invalid responsive_breakpoints: bytes_step must be positive")
        if not 1 <= self.max_images <= 200:
            raise Invalid("Invalid responsive_breakpoints: max_images must be between 1 and 200")


def choose_breakpoints(settings: BreakpointSettings, image_width: int, measure: Callable[[int], int]) -> list[int]:
    """Widths, largest first, whose file sizes step down by about `bytes_step`; the range's
    two ends (`max_width` capped at the image's width, and `min_width`) are always listed.

    File size grows roughly with area, so a few samples spread evenly in width² give a
    curve to invert; each guess is then corrected against a real measurement, and the next
    target is taken from the size actually measured, so errors do not add up.
    """
    top = max(1, min(settings.max_width, image_width))
    bottom = min(settings.min_width, top)
    if settings.max_images == 1 or top == bottom:
        return [top]
    sizes = _Sizes(measure, MAX_MEASUREMENTS)
    top_bytes, bottom_bytes = sizes(top), sizes(bottom)
    span = top_bytes - bottom_bytes
    if span < settings.bytes_step:
        return [top, bottom]  # both ends, always, as Cloudinary lists them
    step = max(float(settings.bytes_step), span / (settings.max_images - 1))
    for width in _area_samples(bottom, top, 6):
        sizes(width)
    chosen = [top]
    target = top_bytes - step
    while target > bottom_bytes + step / 2 and len(chosen) < settings.max_images - 1:
        width = _width_for(sizes, target, bottom + 1, chosen[-1] - 1)
        if width <= bottom + 1:
            break
        chosen.append(width)
        target = sizes(width) - step
    chosen.append(bottom)
    return chosen


MAX_MEASUREMENTS = 30  # renders one list may cost; past them, sizes are interpolated


class _Sizes:
    """Memoised measurements, width → bytes, and their inverse by interpolation. After
    `budget` measurements a new width's size is interpolated from those measured: 200 images
    asked for would otherwise cost up to a thousand renders."""

    def __init__(self, measure: Callable[[int], int], budget: int) -> None:
        self.measure = measure
        self.budget = budget
        self.known: dict[int, int] = {}
        self.estimated: dict[int, int] = {}

    def __call__(self, width: int) -> int:
        if width in self.known:
            return self.known[width]
        if len(self.known) < self.budget:
            self.known[width] = self.measure(width)
            return self.known[width]
        if width not in self.estimated:
            self.estimated[width] = self._interpolated(width)
        return self.estimated[width]

    def _interpolated(self, width: int) -> int:
        points = sorted(self.known.items())
        for (w0, b0), (w1, b1) in zip(points, points[1:]):
            if w0 <= width <= w1:
                return round(b0 + (b1 - b0) * (width - w0) / (w1 - w0))
        return points[0][1] if width < points[0][0] else points[-1][1]

    def guess(self, target: float, low: int, high: int) -> int:
        """The width in [low, high] whose size should be `target`."""
        points = sorted(self.known.items())
        for (w0, b0), (w1, b1) in zip(points, points[1:]):
            if b0 <= target <= b1 and b1 > b0:
                return max(low, min(high, round(w0 + (w1 - w0) * (target - b0) / (b1 - b0))))
        return low if target < points[0][1] else high


def _area_samples(low: int, high: int, count: int) -> list[int]:
    return sorted({round(math.sqrt(low**2 + (high**2 - low**2) * i / (count + 1))) for i in range(1, count + 1)})


def _width_for(sizes: _Sizes, target: float, low: int, high: int, rounds: int = 4) -> int:
    if high <= low:
        return low
    width = sizes.guess(target, low, high)
    for _ in range(rounds):
        sizes(width)
        better = sizes.guess(target, low, high)
        if better == width:
            break
        width = better
    return width
