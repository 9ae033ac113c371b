"""Artistic effects: vignette, oil paint, noise, cartoon."""

from __future__ import annotations

import pyvips

from darkroom.imaging.effects.base import EffectContext, luminance, on_color
from darkroom.transform import Effect


def vignette(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    strength = effect.integer(0, 20) / 100

    def run(rgb: pyvips.Image) -> pyvips.Image:
        xy = pyvips.Image.xyz(rgb.width, rgb.height)
        cx, cy = rgb.width / 2, rgb.height / 2
        distance = (((xy.extract_band(0) - cx) / cx) ** 2 + ((xy.extract_band(1) - cy) / cy) ** 2) / 2
        mask = 1 - distance * (0.3 + 1.4 * strength)
        return rgb * (mask > 0).ifthenelse(mask, 0)

    return on_color(run)(image)


def oil_paint(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    """Median filtering flattens detail into strokes; large images are painted at ≤ 1200 px
    (the strokes scale with them) so the cost stays bounded."""
    size = 3 + 2 * (effect.integer(0, 30) // 20)
    scale = min(1.0, 1200 / max(image.width, image.height))

    def paint(rgb: pyvips.Image) -> pyvips.Image:
        if scale == 1.0:
            return rgb.median(size)
        painted = rgb.resize(scale).median(size)
        return painted.thumbnail_image(rgb.width, height=rgb.height, size="force")

    return on_color(paint)(image)


def noise(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    sigma = effect.integer(0, 0) * 0.6
    if sigma == 0:
        return image
    return on_color(lambda rgb: rgb + pyvips.Image.gaussnoise(rgb.width, rgb.height, sigma=sigma, mean=0))(image)


def cartoonify(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    """`e_cartoonify[:line[:colour_reduction|bw]]`: flat colours (smoothed, then posterised)
    with dark outlines where edges are strong."""
    line = effect.bounded(0, 0, 100) if effect.args else 50
    black_white = effect.args[1:2] == ("bw",)
    reduction = effect.bounded(1, 0, 100) if len(effect.args) > 1 and not black_white else 50
    step = 256 / max(2, round(12 - reduction * 0.1))

    def run(rgb: pyvips.Image) -> pyvips.Image:
        flat = rgb.median(5)
        flat = ((flat / step).floor() * step + step / 2).cast("uchar")
        if black_white:
            flat = luminance(flat).bandjoin([luminance(flat)] * 2)
        edges = luminance(rgb).cast("uchar").sobel()
        threshold = 255 - line * 2.2
        return (edges > threshold).ifthenelse([0, 0, 0], flat)

    return on_color(run)(image)
