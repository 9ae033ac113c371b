"""`e_` effects, one small function each, over an sRGB image with an optional alpha band.

Strengths follow Cloudinary's documented ranges and defaults (see `transform.effects`);
the curves are ours, chosen so a higher number always means more of the effect.
Effects that need a model answer 400 until the add-ons part provides them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyvips

from darkroom.imaging.errors import UnsupportedTransformation
from darkroom.imaging.geometry import Box
from darkroom.imaging.layers import with_alpha
from darkroom.transform import Component, Effect
from darkroom.transform.colors import parse_color, rgba
from darkroom.transform.effects import effect_arg
from darkroom.transform.errors import ParseError


@dataclass(frozen=True)
class EffectContext:
    """What an effect may need beyond its own arguments."""

    component: Component  # for co_ (colour), x/y/w/h of regions
    faces: Callable[[pyvips.Image], list[Box]]  # detector, called only by face effects
    region: Box | None = None  # blur_region / pixelate_region area, resolved to pixels


def split_alpha(image: pyvips.Image) -> tuple[pyvips.Image, pyvips.Image | None]:
    if image.hasalpha():
        return image.extract_band(0, n=image.bands - 1), image.extract_band(image.bands - 1)
    return image, None


def join_alpha(rgb: pyvips.Image, alpha: pyvips.Image | None) -> pyvips.Image:
    rgb = rgb.cast("uchar")
    return rgb.bandjoin(alpha.cast("uchar")) if alpha is not None else rgb


def _on_color(fn: Callable[[pyvips.Image], pyvips.Image]) -> Callable[[pyvips.Image], pyvips.Image]:
    def run(image: pyvips.Image) -> pyvips.Image:
        rgb, alpha = split_alpha(image)
        return join_alpha(fn(rgb), alpha)

    return run


def _int(effect: Effect, index: int = 0, fallback: int = 0) -> int:
    value = effect_arg(effect, index)
    try:
        return int(value) if value is not None else fallback
    except ValueError:
        raise UnsupportedTransformation(f"Invalid effect parameter - {effect.name}:{value}") from None


def _blend(original: pyvips.Image, changed: pyvips.Image, amount: float) -> pyvips.Image:
    amount = max(0.0, min(1.0, amount))
    return original * (1 - amount) + changed * amount


def _luma(rgb: pyvips.Image) -> pyvips.Image:
    return rgb.recomb([[0.2126, 0.7152, 0.0722]])


def _color(effect_ctx: EffectContext, default: str) -> tuple[int, int, int, int]:
    return rgba(effect_ctx.component.color or default)


def grayscale(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    return _on_color(lambda rgb: _luma(rgb).bandjoin([_luma(rgb)] * 2))(image)


def sepia(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    matrix = [[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]]
    amount = _int(effect, 0, 80) / 100
    return _on_color(lambda rgb: _blend(rgb, rgb.recomb(matrix), amount))(image)


def blackwhite(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    threshold = 50 if effect_arg(effect, 0) == "bw" else _int(effect, 0, 50)

    def run(rgb: pyvips.Image) -> pyvips.Image:
        mono = (_luma(rgb) > threshold * 255 / 100).ifthenelse(255, 0)
        return mono.bandjoin([mono, mono])

    return _on_color(run)(image)


def negate(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    return _on_color(lambda rgb: 255 - rgb)(image)


def _sample(image: pyvips.Image, size: int = 256) -> pyvips.Image:
    """A small copy for statistics (percentiles, means): the same answer, a fraction of the work."""
    scale = min(1.0, size / max(image.width, image.height))
    return image.resize(scale).copy_memory() if scale < 1 else image


def _levels(rgb: pyvips.Image, per_channel: bool) -> tuple[list[float], list[float]]:
    """Scale and offset per band that stretch the 1st-99th percentile to 0-255, measured on
    a small sample (luminance, or each channel)."""
    sample = _sample(rgb)
    bands = [sample.extract_band(i) for i in range(sample.bands)] if per_channel else [_luma(sample)]
    scales, offsets = [], []
    for band in bands:
        low = band.percent(1)
        high = max(band.percent(99), low + 1)
        scales.append(255 / (high - low))
        offsets.append(-low * 255 / (high - low))
    if not per_channel:
        scales, offsets = scales * rgb.bands, offsets * rgb.bands
    return scales, offsets


def _stretch(rgb: pyvips.Image, per_channel: bool) -> pyvips.Image:
    return rgb.linear(*_levels(rgb, per_channel))


def auto_contrast(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    amount = _int(effect, 0, 100) / 100
    return _on_color(lambda rgb: _blend(rgb, _stretch(rgb, False), amount))(image)


def auto_color(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    amount = _int(effect, 0, 100) / 100
    return _on_color(lambda rgb: _blend(rgb, _stretch(rgb, True), amount))(image)


def auto_brightness(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    amount = _int(effect, 0, 100) / 100
    return _on_color(lambda rgb: _blend(rgb, rgb + (128 - _luma(_sample(rgb)).avg()), amount))(image)


def improve(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    """Auto colour balance, then auto contrast, then a little more saturation — measured on a
    sample and applied to the full image as one linear step."""
    args = [a for a in effect.args if a not in ("indoor", "outdoor")]
    amount = (int(args[0]) if args and args[0].isdigit() else 100) / 100

    def run(rgb: pyvips.Image) -> pyvips.Image:
        colour_scale, colour_offset = _levels(rgb, True)
        balanced = _sample(rgb).linear(colour_scale, colour_offset).cast("uchar")
        contrast_scale, contrast_offset = _levels(balanced, False)
        scale = [a * b for a, b in zip(colour_scale, contrast_scale)]
        offset = [o * b + c for o, b, c in zip(colour_offset, contrast_scale, contrast_offset)]
        stretched = rgb.linear(scale, offset)
        luma = _luma(stretched)
        return _blend(rgb, luma + (stretched - luma) * 1.1, amount)

    return _on_color(run)(image)


def _saturate(rgb: pyvips.Image, factor: float) -> pyvips.Image:
    lch = rgb.colourspace("lch")
    return lch.linear([1, factor, 1], [0, 0, 0]).colourspace("srgb")


def saturation(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    factor = 1 + _int(effect, 0, 80) / 100
    return _on_color(lambda rgb: _saturate(rgb, factor))(image)


def vibrance(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    strength = _int(effect, 0, 20) / 100

    def run(rgb: pyvips.Image) -> pyvips.Image:
        lch = rgb.colourspace("lch")
        chroma = lch.extract_band(1)
        boosted = chroma * (1 + strength * (1 - (chroma / 100).ifthenelse(1, chroma / 100)))
        return lch.extract_band(0).bandjoin([boosted, lch.extract_band(2)]).copy(interpretation="lch").colourspace("srgb")

    return _on_color(run)(image)


def hue(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    degrees = _int(effect, 0, 80) * 1.8

    def run(rgb: pyvips.Image) -> pyvips.Image:
        lch = rgb.colourspace("lch")
        return lch.linear([1, 1, 1], [0, 0, degrees]).colourspace("srgb")

    return _on_color(run)(image)


def brightness(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    offset = _int(effect, 0, 80) * 255 / 200
    return _on_color(lambda rgb: rgb + offset)(image)


def contrast(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    factor = 1 + _int(effect, 0, 0) / 100
    return _on_color(lambda rgb: rgb.linear(factor, 128 * (1 - factor)))(image)


def gamma(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    exponent = 1 / max(0.1, 1 + _int(effect, 0, 0) / 100)
    return _on_color(lambda rgb: (rgb / 255) ** exponent * 255)(image)


def _channel(index: int) -> Callable[[pyvips.Image, Effect, EffectContext], pyvips.Image]:
    def run(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
        offsets = [0.0, 0.0, 0.0]
        offsets[index] = _int(effect, 0, 0) * 2.55
        return _on_color(lambda rgb: rgb + offsets)(image)

    return run


def colorize(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    amount = _int(effect, 0, 100) / 100
    color = list(_color(ctx, "gray")[:3])
    return _on_color(lambda rgb: _blend(rgb, rgb.new_from_image(color), amount))(image)


def tint(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    """`e_tint[:equalize][:amount][:colour[:position]…]`: `equalize` spreads the histogram first."""
    equalize = effect.args[:1] == ("equalize",)
    if equalize:
        effect = Effect(effect.name, effect.args[1:])
    amount = _int(effect, 0, 60) / 100
    try:
        colors = [rgba(parse_color("e", arg if not _is_hex(arg) else "rgb:" + arg))[:3] for arg in effect.args[1:] if not arg.endswith("p")]
    except ParseError as error:
        raise UnsupportedTransformation(error.message) from None
    colors = colors or [(232, 146, 59)]  # an amber tint when no colour is given

    def run(rgb: pyvips.Image) -> pyvips.Image:
        if equalize:
            rgb = rgb.hist_equal()
        level = _luma(rgb) / 255
        if len(colors) == 1:
            tinted = level * list(colors[0]) * 1.0
        else:
            first, last = colors[0], colors[-1]
            tinted = (1 - level) * list(first) + level * list(last)
        return _blend(rgb, tinted, amount)

    return _on_color(run)(image)


def _is_hex(text: str) -> bool:
    return len(text) in (3, 6) and all(c in "0123456789abcdefABCDEF" for c in text)


def _sigma(strength: int, per_unit: float) -> float:
    return max(0.3, strength * per_unit)


def blur(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    return image.gaussblur(_sigma(_int(effect, 0, 100), 0.05)).cast("uchar")


def sharpen(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    strength = _int(effect, 0, 100)

    def run(rgb: pyvips.Image) -> pyvips.Image:
        return rgb.sharpen(sigma=0.5 + strength / 400, m2=1 + strength / 50).colourspace("srgb")

    return _on_color(run)(image)


def unsharp_mask(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    amount = _int(effect, 0, 100) / 100

    def run(rgb: pyvips.Image) -> pyvips.Image:
        blurred = rgb.gaussblur(1.5)
        return rgb + (rgb - blurred) * amount

    return _on_color(run)(image)


def vignette(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    strength = _int(effect, 0, 20) / 100

    def run(rgb: pyvips.Image) -> pyvips.Image:
        xy = pyvips.Image.xyz(rgb.width, rgb.height)
        cx, cy = rgb.width / 2, rgb.height / 2
        distance = (((xy.extract_band(0) - cx) / cx) ** 2 + ((xy.extract_band(1) - cy) / cy) ** 2) / 2
        mask = 1 - distance * (0.3 + 1.4 * strength)
        return rgb * (mask > 0).ifthenelse(mask, 0)

    return _on_color(run)(image)


def _pixelated(image: pyvips.Image, square: int) -> pyvips.Image:
    square = max(1, min(square, image.width, image.height))
    small = image.resize(1 / square, kernel="nearest") if square > 1 else image
    big = small.zoom(square, square)
    return big.embed(0, 0, image.width, image.height, extend="copy").crop(0, 0, image.width, image.height)


def pixelate(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    default = max(4, min(image.width, image.height) // 30)
    return _pixelated(image, _int(effect, 0, default))


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
    sigma = _sigma(_int(effect, 0, 100), 0.05)
    return _in_regions(image, _region(image, ctx), lambda patch: patch.gaussblur(sigma))


def pixelate_region(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    square = _int(effect, 0, max(4, min(image.width, image.height) // 30))
    return _in_regions(image, _region(image, ctx), lambda patch: _pixelated(patch, square))


def blur_faces(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    sigma = _sigma(_int(effect, 0, 500), 0.05)
    return _in_regions(image, ctx.faces(image), lambda patch: patch.gaussblur(sigma))


def pixelate_faces(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    faces = ctx.faces(image)
    return _in_regions(image, faces, lambda patch: _pixelated(patch, _int(effect, 0, max(4, patch.width // 8))))


def oil_paint(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    """Median filtering flattens detail into strokes; large images are painted at ≤ 1200 px
    (the strokes scale with them) so the cost stays bounded."""
    size = 3 + 2 * (_int(effect, 0, 30) // 20)
    scale = min(1.0, 1200 / max(image.width, image.height))

    def paint(rgb: pyvips.Image) -> pyvips.Image:
        if scale == 1.0:
            return rgb.median(size)
        painted = rgb.resize(scale).median(size)
        return painted.thumbnail_image(rgb.width, height=rgb.height, size="force")

    return _on_color(paint)(image)


def noise(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    sigma = _int(effect, 0, 0) * 0.6
    if sigma == 0:
        return image
    return _on_color(lambda rgb: rgb + pyvips.Image.gaussnoise(rgb.width, rgb.height, sigma=sigma, mean=0))(image)


def _dilate(mask: pyvips.Image, radius: int) -> pyvips.Image:
    """Grow a 0/255 mask by about `radius` px (exact morphology when small, blur when large)."""
    if radius <= 8:
        return mask.morph(pyvips.Image.new_from_list([[255] * (2 * radius + 1)] * (2 * radius + 1)), "dilate")
    return (mask.gaussblur(radius / 2, min_ampl=0.05) > 2).ifthenelse(255, 0).cast("uchar")


def _erode(mask: pyvips.Image, radius: int) -> pyvips.Image:
    return (255 - _dilate((255 - mask).cast("uchar"), radius)).cast("uchar")


def _bounded(effect: Effect, text: str, low: int, high: int) -> int:
    if not text.isdigit() or not low <= int(text) <= high:
        raise UnsupportedTransformation(f"Invalid effect parameter - {effect.name}:{text}")
    return int(text)


def outline(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    """A coloured line around the opaque part (`outer`, or `inner` inside its edge)."""
    args = list(effect.args)
    mode = args.pop(0) if args and not args[0].isdigit() else "outer"
    if mode not in ("outer", "inner", "inner_fill", "outer_fill", "fill"):
        raise UnsupportedTransformation(f"Invalid effect parameter - outline:{mode}")
    width = _bounded(effect, args[0], 1, 100) if args else 5
    blur_amount = _bounded(effect, args[1], 0, 2000) if len(args) > 1 else 0
    return draw_outline(image, width, list(_color(ctx, "black")), blur=blur_amount, inner=mode.startswith("inner"))


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
    strength = _int(effect, 0, 40) / 100
    component = ctx.component
    dx = getattr(component.x, "value", 8) if component.x is not None else 8
    dy = getattr(component.y, "value", 8) if component.y is not None else 8
    dx, dy = max(-500, min(500, int(dx))), max(-500, min(500, int(dy)))
    color = list(_color(ctx, "black"))[:3]
    image = with_alpha(image)
    margin = 10 + max(abs(dx), abs(dy))
    canvas = (image.width + 2 * margin, image.height + 2 * margin)
    alpha = image.extract_band(3).embed(margin + dx, margin + dy, *canvas)
    soft = (alpha.gaussblur(3) * strength).cast("uchar")
    shade = alpha.new_from_image(color).bandjoin(soft)
    placed = image.embed(margin, margin, *canvas)
    return shade.composite2(placed, "over").cast("uchar")


def trim(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    tolerance = _int(effect, 0, 10)
    color_arg = effect_arg(effect, 1)
    flat = image.flatten(background=[255, 255, 255]) if image.hasalpha() else image
    if color_arg:
        try:
            background = list(rgba(parse_color("e", "rgb:" + color_arg if _is_hex(color_arg) else color_arg))[:3])
        except ParseError as error:
            raise UnsupportedTransformation(error.message) from None
    else:
        background = flat(0, 0)[:3]
    left, top, width, height = flat.find_trim(threshold=max(1, tolerance * 2.55), background=background)
    if width == 0 or height == 0:
        return image
    return image.crop(left, top, width, height)


def make_transparent(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    tolerance = _int(effect, 0, 10) * 4.42  # of the RGB cube's diagonal
    rgb, alpha = split_alpha(image)
    target = list(rgba(ctx.component.color))[:3] if ctx.component.color else rgb(0, 0)[:3]
    distance = ((rgb - target) ** 2).bandmean() ** 0.5 * (3**0.5)
    keep = (distance > tolerance).ifthenelse(255, 0)
    new_alpha = keep if alpha is None else (keep & alpha)
    return join_alpha(rgb, new_alpha)


def _color_arg(effect: Effect, text: str) -> tuple[int, int, int]:
    try:
        return rgba(parse_color("e", "rgb:" + text if _is_hex(text) else text))[:3]  # type: ignore[return-value]
    except ParseError as error:
        raise UnsupportedTransformation(f"Invalid effect parameter - {effect.name}:{text}", detail=error.message) from None


def _predominant(rgb: pyvips.Image) -> tuple[int, int, int]:
    """The centre of the most common 32-level colour bin of a small sample."""
    import numpy

    bins = _sample(rgb, 64).numpy().reshape(-1, 3) // 32
    keys, counts = numpy.unique(bins, axis=0, return_counts=True)
    return tuple(int(v) * 32 + 16 for v in keys[counts.argmax()])  # type: ignore[return-value]


def replace_color(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    """`e_replace_color:to[:tolerance[:from]]`: shift colours near `from` (default: the
    predominant colour) towards `to`, keeping their shading; nearer colours move more."""
    if not effect.args:
        raise UnsupportedTransformation("Invalid effect parameter - replace_color needs a target colour")
    target = _color_arg(effect, effect.args[0])
    tolerance = _bounded(effect, effect.args[1], 0, 100) if len(effect.args) > 1 else 50
    rgb, alpha = split_alpha(image)
    source = _color_arg(effect, effect.args[2]) if len(effect.args) > 2 else _predominant(rgb)
    reach = max(1.0, tolerance * 4.42)  # of the RGB cube's diagonal
    distance = ((rgb - list(source)) ** 2).bandmean() ** 0.5 * (3**0.5)
    weight = (distance < reach).ifthenelse(1 - distance / reach, 0)
    shifted = rgb + weight * [t - f for t, f in zip(target, source)]
    return join_alpha(shifted, alpha)


def gradient_fade(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    """Fade to transparent from an edge: from the left by default, `x < 0` from the right,
    `y > 0` from the top, `y < 0` from the bottom, `symmetric` from both sides; the faded
    band is `strength` % of the side (default 20) or |x|/|y| when given."""
    args = list(effect.args)
    symmetric = bool(args) and args[0].startswith("symmetric")
    if symmetric:
        args.pop(0)
    strength = _bounded(effect, args[0], 0, 100) if args else 20
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

    angles = [_signed(effect, a, -89, 89) for a in effect.args[:2]] + [0, 0]
    matrix = [1, math.tan(math.radians(angles[0])), math.tan(math.radians(angles[1])), 1]
    image = with_alpha(image)
    return image.affine(matrix, extend="background", background=[0, 0, 0, 0]).cast("uchar")


def _signed(effect: Effect, text: str, low: int, high: int) -> int:
    body = text[1:] if text.startswith("-") else text
    if not body.isdigit() or not low <= int(text) <= high:
        raise UnsupportedTransformation(f"Invalid effect parameter - {effect.name}:{text}")
    return int(text)


def cartoonify(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    """`e_cartoonify[:line[:colour_reduction|bw]]`: flat colours (smoothed, then posterised)
    with dark outlines where edges are strong."""
    line = _bounded(effect, effect.args[0], 0, 100) if effect.args else 50
    reduction_arg = effect.args[1] if len(effect.args) > 1 else "50"
    black_white = reduction_arg == "bw"
    reduction = 50 if black_white else _bounded(effect, reduction_arg, 0, 100)
    step = 256 / max(2, round(12 - reduction * 0.1))

    def run(rgb: pyvips.Image) -> pyvips.Image:
        flat = rgb.median(5)
        flat = ((flat / step).floor() * step + step / 2).cast("uchar")
        if black_white:
            flat = _luma(flat).bandjoin([_luma(flat)] * 2)
        edges = _luma(rgb).cast("uchar").sobel()
        threshold = 255 - line * 2.2
        return (edges > threshold).ifthenelse([0, 0, 0], flat)

    return _on_color(run)(image)


def _unsupported(reason: str) -> Callable[[pyvips.Image, Effect, EffectContext], pyvips.Image]:
    def run(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
        raise UnsupportedTransformation(f"Effect {effect.name} is not supported: {reason}")

    return run


_NEEDS_MODEL = _unsupported("it needs an AI add-on, which this server does not have")
_NOT_YET = _unsupported("not implemented by this server")

EFFECT_FUNCTIONS: dict[str, Callable[[pyvips.Image, Effect, EffectContext], pyvips.Image]] = {
    "grayscale": grayscale,
    "sepia": sepia,
    "blackwhite": blackwhite,
    "negate": negate,
    "improve": improve,
    "auto_contrast": auto_contrast,
    "auto_color": auto_color,
    "auto_brightness": auto_brightness,
    "saturation": saturation,
    "vibrance": vibrance,
    "hue": hue,
    "brightness": brightness,
    "contrast": contrast,
    "gamma": gamma,
    "red": _channel(0),
    "green": _channel(1),
    "blue": _channel(2),
    "colorize": colorize,
    "tint": tint,
    "blur": blur,
    "sharpen": sharpen,
    "unsharp_mask": unsharp_mask,
    "vignette": vignette,
    "pixelate": pixelate,
    "blur_region": blur_region,
    "pixelate_region": pixelate_region,
    "blur_faces": blur_faces,
    "pixelate_faces": pixelate_faces,
    "oil_paint": oil_paint,
    "noise": noise,
    "outline": outline,
    "shadow": shadow,
    "trim": trim,
    "make_transparent": make_transparent,
    "replace_color": replace_color,
    "shear": shear,
    "cartoonify": cartoonify,
    "gradient_fade": gradient_fade,
    "background_removal": _NEEDS_MODEL,
    "bgremoval": _NEEDS_MODEL,
    "upscale": _NEEDS_MODEL,
    "enhance": _NEEDS_MODEL,
    "gen_remove": _NEEDS_MODEL,
    "gen_replace": _NEEDS_MODEL,
    "gen_recolor": _NEEDS_MODEL,
    "gen_background_replace": _NEEDS_MODEL,
    "gen_restore": _NEEDS_MODEL,
    "style_transfer": _NEEDS_MODEL,
    # Cloudinary cuts the subject out with a segmentation model before casting the shadow.
    "dropshadow": _NEEDS_MODEL,
    "extract": _NEEDS_MODEL,
    "adv_redeye": _unsupported("it needs an add-on, which this server does not have"),
    "viesus_correct": _unsupported("it needs an add-on, which this server does not have"),
}


def apply_effect(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    """Run one effect; unknown-to-the-renderer effects are a 400, never a silent no-op."""
    function = EFFECT_FUNCTIONS.get(effect.name, _NOT_YET)
    return function(image, effect, ctx).cast("uchar")
