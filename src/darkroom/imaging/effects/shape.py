"""Effects on the shape and the alpha band: outline, shadow, trim, transparency, fades, shear.

`draw_outline` is also how a border follows rounded corners (`steps.py`).
"""

from __future__ import annotations

import pyvips

from darkroom.imaging.effects.base import EffectContext, context_color, join_alpha, split_alpha
from darkroom.imaging.errors import UnsupportedTransformation
from darkroom.imaging.layers import with_alpha
from darkroom.transform import Effect, rgba


def _dilate(mask: pyvips.Image, radius: int) -> pyvips.Image:
    """Grow a 0/255 mask by about `radius` px (exact morphology when small, blur when large)."""
    if radius <= 8:
        return mask.morph(pyvips.Image.new_from_list([[255] * (2 * radius + 1)] * (2 * radius + 1)), "dilate")
    return (mask.gaussblur(radius / 2, min_ampl=0.05) > 2).ifthenelse(255, 0).cast("uchar")


def _erode(mask: pyvips.Image, radius: int) -> pyvips.Image:
    return (255 - _dilate((255 - mask).cast("uchar"), radius)).cast("uchar")


def outline(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    """A coloured line around the opaque part (`outer`, or `inner` inside its edge)."""
    given = len(effect.args)
    named = given > 0 and not effect.args[0].isdigit()  # the mode may be left out
    mode = effect.args[0] if named else "outer"
    if mode not in ("outer", "inner", "inner_fill", "outer_fill", "fill"):
        raise UnsupportedTransformation(f"Invalid effect parameter - outline:{mode}")
    first = 1 if named else 0
    width = effect.bounded(first, 1, 100) if given > first else 5
    blur_amount = effect.bounded(first + 1, 0, 2000) if given > first + 1 else 0
    return draw_outline(image, width, list(context_color(ctx, "black")), blur=blur_amount, inner=mode.startswith("inner"))


def draw_outline(image: pyvips.Image, width: int, color: list[int], *, blur: int = 0, inner: bool = False) -> pyvips.Image:
    """Outline the opaque part of `image` (also how borders follow rounded corners)."""
    image = with_alpha(image)
    grown = image.embed(width, width, image.width + 2 * width, image.height + 2 * width)
    alpha = grown.extract_band(3)
    mask = (alpha - _erode(alpha, width)).cast("uchar") if inner else _dilate(alpha, width)
    if blur:
        mask = mask.gaussblur(max(0.3, blur / 20)).cast("uchar")
    shape = grown.new_from_image(color[:3]).bandjoin((mask * (color[3] / 255)).cast("uchar")).copy(interpretation="srgb")
    if inner:
        return grown.composite2(shape, "over").cast("uchar")
    return shape.composite2(grown, "over").cast("uchar")


def shadow(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    strength = effect.integer(0, 40) / 100
    component = ctx.component
    dx = getattr(component.x, "value", 8) if component.x is not None else 8
    dy = getattr(component.y, "value", 8) if component.y is not None else 8
    dx, dy = max(-500, min(500, int(dx))), max(-500, min(500, int(dy)))
    color = list(context_color(ctx, "black"))[:3]
    image = with_alpha(image)
    margin = 10 + max(abs(dx), abs(dy))
    canvas = (image.width + 2 * margin, image.height + 2 * margin)
    alpha = image.extract_band(3).embed(margin + dx, margin + dy, *canvas)
    soft = (alpha.gaussblur(3) * strength).cast("uchar")
    shade = alpha.new_from_image(color).bandjoin(soft)
    placed = image.embed(margin, margin, *canvas)
    return shade.composite2(placed, "over").cast("uchar")


def trim(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    tolerance = effect.integer(0, 10)
    flat = image.flatten(background=[255, 255, 255]) if image.hasalpha() else image
    if effect.arg(1):
        background = list(effect.color(1)[:3])
    else:
        background = flat(0, 0)[:3]
    left, top, width, height = flat.find_trim(threshold=max(1, tolerance * 2.55), background=background)
    if width == 0 or height == 0:
        return image
    return image.crop(left, top, width, height)


def make_transparent(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    tolerance = effect.integer(0, 10) * 4.42  # of the RGB cube's diagonal
    rgb, alpha = split_alpha(image)
    target = list(rgba(ctx.component.color))[:3] if ctx.component.color else rgb(0, 0)[:3]
    distance = ((rgb - target) ** 2).bandmean() ** 0.5 * (3**0.5)
    keep = (distance > tolerance).ifthenelse(255, 0)
    new_alpha = keep if alpha is None else (keep & alpha)
    return join_alpha(rgb, new_alpha)


def gradient_fade(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    """Fade to transparent from an edge: from the left by default, `x < 0` from the right,
    `y > 0` from the top, `y < 0` from the bottom, `symmetric` from both sides; the faded
    band is `strength` % of the side (default 20) or |x|/|y| when given."""
    symmetric = bool(effect.args) and effect.args[0].startswith("symmetric")
    first = 1 if symmetric else 0
    strength = effect.bounded(first, 0, 100) if len(effect.args) > first else 20
    component = ctx.component
    vertical = component.y is not None and component.x is None
    offset = component.y if vertical else component.x
    amount = getattr(offset, "value", None)
    side = image.height if vertical else image.width
    if isinstance(amount, float) and abs(amount) <= 1:
        band = abs(amount) * side
    elif isinstance(amount, int) and amount != 0:
        band = abs(amount)
    else:
        band = strength / 100 * side
    band = max(1.0, min(float(side), band))
    reverse = amount is not None and amount < 0
    xy = pyvips.Image.xyz(image.width, image.height)
    position = xy.extract_band(1 if vertical else 0)
    if reverse:
        position = (side - 1) - position
    ramp = (position < band).ifthenelse(position / band, 1)
    if symmetric:
        mirrored = ((side - 1) - position)
        ramp = ramp * (mirrored < band).ifthenelse(mirrored / band, 1)
    image = with_alpha(image)
    rgb, alpha = split_alpha(image)
    return join_alpha(rgb, alpha * ramp)


def shear(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    """`e_shear:x:y`: skew by x degrees horizontally and y vertically; the canvas grows and
    the uncovered corners are transparent."""
    import math

    angles = [effect.bounded(index, -89, 89, signed=True) for index in range(min(2, len(effect.args)))] + [0, 0]
    matrix = [1, math.tan(math.radians(angles[0])), math.tan(math.radians(angles[1])), 1]
    image = with_alpha(image)
    return image.affine(matrix, extend="background", background=[0, 0, 0, 0]).cast("uchar")
