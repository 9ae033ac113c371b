"""What every effect shares: its context, alpha handling and a few colour measures.

An effect is `fn(image, effect, ctx) -> image` over sRGB with an optional alpha band; it
reads its arguments as values through `Effect` (`integer`, `bounded`, `color`: the readings
live in `transform`) and works on the colour bands only unless its point is the alpha.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyvips

from darkroom.imaging.geometry import Box
from darkroom.transform import Component, Effect, rgba


@dataclass(frozen=True)
class EffectContext:
    """What an effect may need beyond its own arguments."""

    component: Component  # for co_ (colour), x/y/w/h of regions
    faces: Callable[[pyvips.Image], list[Box]]  # detector, called only by face effects
    region: Box | None = None  # blur_region / pixelate_region area, resolved to pixels


EffectFunction = Callable[[pyvips.Image, Effect, EffectContext], pyvips.Image]


def split_alpha(image: pyvips.Image) -> tuple[pyvips.Image, pyvips.Image | None]:
    if image.hasalpha():
        return image.extract_band(0, n=image.bands - 1), image.extract_band(image.bands - 1)
    return image, None


def join_alpha(rgb: pyvips.Image, alpha: pyvips.Image | None) -> pyvips.Image:
    rgb = rgb.cast("uchar")
    return rgb.bandjoin(alpha.cast("uchar")) if alpha is not None else rgb


def on_color(fn: Callable[[pyvips.Image], pyvips.Image]) -> Callable[[pyvips.Image], pyvips.Image]:
    def run(image: pyvips.Image) -> pyvips.Image:
        rgb, alpha = split_alpha(image)
        return join_alpha(fn(rgb), alpha)

    return run


def blend(original: pyvips.Image, changed: pyvips.Image, amount: float) -> pyvips.Image:
    amount = max(0.0, min(1.0, amount))
    return original * (1 - amount) + changed * amount


def luminance(rgb: pyvips.Image) -> pyvips.Image:
    return rgb.recomb([[0.2126, 0.7152, 0.0722]])


def context_color(effect_ctx: EffectContext, default: str) -> tuple[int, int, int, int]:
    return rgba(effect_ctx.component.color or default)


def small_copy(image: pyvips.Image, size: int = 256) -> pyvips.Image:
    """A small copy for statistics (percentiles, means): the same answer, a fraction of the work."""
    scale = min(1.0, size / max(image.width, image.height))
    return image.resize(scale).copy_memory() if scale < 1 else image
