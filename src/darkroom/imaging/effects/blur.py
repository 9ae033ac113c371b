"""Blur, sharpen and pixelate: over the whole image, a region (`*_region`) or faces (`*_faces`)."""

from __future__ import annotations

from collections.abc import Callable

import pyvips

from darkroom.imaging.effects.base import EffectContext, on_color
from darkroom.imaging.geometry import Box
from darkroom.transform import Effect


# Cloudinary's blur strength (1-2000, default 100) as a Gaussian sigma in pixels: 100 is a
# strong blur (sigma 10: a 1080 px photo keeps its shapes, loses its texture and edges).
SIGMA_PER_STRENGTH = 0.1
# Above this sigma the blur runs on a shrunken copy and is scaled back: a Gaussian that wide
# leaves nothing a smaller copy could not hold, and the kernel's cost grows with sigma.
DIRECT_SIGMA = 12.0


def _sigma(strength: int, per_unit: float = SIGMA_PER_STRENGTH) -> float:
    return max(0.3, strength * per_unit)


def gaussian(image: pyvips.Image, sigma: float) -> pyvips.Image:
    """A Gaussian blur of `sigma` px whose cost stays bounded however large sigma is."""
    if sigma <= DIRECT_SIGMA:
        return image.gaussblur(sigma)
    shrink = DIRECT_SIGMA / sigma
    small = image.resize(shrink, kernel="linear")
    if min(small.width, small.height) < 2:
        return image.new_from_image(image.avg()) if image.bands == 1 else _flat_mean(image)
    blurred = small.gaussblur(DIRECT_SIGMA)
    grown = blurred.resize(image.width / small.width, vscale=image.height / small.height, kernel="linear")
    return grown.embed(0, 0, image.width, image.height, extend="copy")


def _flat_mean(image: pyvips.Image) -> pyvips.Image:
    return image.new_from_image([image.extract_band(i).avg() for i in range(image.bands)])


def blur(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    return gaussian(image, _sigma(effect.integer(0, 100))).cast("uchar")


def sharpen(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    strength = effect.integer(0, 100)

    def run(rgb: pyvips.Image) -> pyvips.Image:
        return rgb.sharpen(sigma=0.5 + strength / 400, m2=1 + strength / 50).colourspace("srgb")

    return on_color(run)(image)


def unsharp_mask(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    amount = effect.integer(0, 100) / 100

    def run(rgb: pyvips.Image) -> pyvips.Image:
        blurred = rgb.gaussblur(1.5)
        return rgb + (rgb - blurred) * amount

    return on_color(run)(image)


def _pixelated(image: pyvips.Image, square: int) -> pyvips.Image:
    square = max(1, min(square, image.width, image.height))
    small = image.resize(1 / square, kernel="nearest") if square > 1 else image
    big = small.zoom(square, square)
    return big.embed(0, 0, image.width, image.height, extend="copy").crop(0, 0, image.width, image.height)


def pixelate(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    default = max(4, min(image.width, image.height) // 30)
    return _pixelated(image, effect.integer(0, default))


def _in_regions(image: pyvips.Image, regions: list[Box], fn: Callable[[pyvips.Image], pyvips.Image]) -> pyvips.Image:
    for box in regions:
        left, top = max(0, box.left), max(0, box.top)
        width, height = min(box.width, image.width - left), min(box.height, image.height - top)
        if width <= 0 or height <= 0:
            continue
        patch = fn(image.crop(left, top, width, height)).cast("uchar")
        image = image.insert(patch, left, top)
    return image


def _region(image: pyvips.Image, ctx: EffectContext) -> list[Box]:
    return [ctx.region] if ctx.region else [Box(0, 0, image.width, image.height)]


def blur_region(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    sigma = _sigma(effect.integer(0, 100))
    return _in_regions(image, _region(image, ctx), lambda patch: gaussian(patch, sigma))


def pixelate_region(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    square = effect.integer(0, max(4, min(image.width, image.height) // 30))
    return _in_regions(image, _region(image, ctx), lambda patch: _pixelated(patch, square))


def blur_faces(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    sigma = _sigma(effect.integer(0, 500))
    return _in_regions(image, ctx.faces(image), lambda patch: gaussian(patch, sigma))


def pixelate_faces(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    faces = ctx.faces(image)
    return _in_regions(image, faces, lambda patch: _pixelated(patch, effect.integer(0, max(4, patch.width // 8))))
