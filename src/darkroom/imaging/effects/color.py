"""Colour effects: tones (grayscale, sepia, tint…), levels (auto contrast, improve…) and
adjustments (brightness, saturation, hue…), plus colour replacement."""

from __future__ import annotations

import math

import pyvips

from darkroom.imaging.effects.base import EffectContext, EffectFunction, blend, context_color, join_alpha, luminance, on_color, small_copy, split_alpha
from darkroom.imaging.errors import UnsupportedTransformation
from darkroom.transform import Effect, ParseError


def grayscale(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    return on_color(lambda rgb: luminance(rgb).bandjoin([luminance(rgb)] * 2))(image)


def sepia(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    """ImageMagick's sepia-tone, which Cloudinary's follows: the level is a tone threshold
    (% of white). Every pixel is toned from its intensity I and the threshold t:

        red = min(255, I + 255 - t)   green = min(255, I + 255 - 7t/6)   blue = max(0, I - t/6)
        (green and blue lifted to at least t/7, but never above red and green)

    so red ≥ green ≥ blue everywhere, whatever the level. The intensity is first stretched
    to the full range (ImageMagick normalises the result instead; stretching before toning
    keeps the tones' order and their warmth), and the result gets a little S-shaped contrast."""
    threshold = effect.integer(0, 80) * 255 / 100

    def run(rgb: pyvips.Image) -> pyvips.Image:
        intensity = _stretched(luminance(rgb))
        red = _at_most(intensity + (255 - threshold), 255)
        green = _at_most(intensity + (255 - threshold * 7 / 6), 255)
        blue = _at_least(intensity - threshold / 6, 0)
        floor = threshold / 7
        # The floor could lift green above red in the darkest pixels at high levels: cap it.
        green = _at_most_image(_at_least(green, floor), red)
        blue = _at_most_image(_at_least(blue, floor), green)
        return _s_curve(red.bandjoin([green, blue]))

    return on_color(run)(image)


def _at_most(image: pyvips.Image, value: float) -> pyvips.Image:
    return (image > value).ifthenelse(value, image)


def _at_most_image(image: pyvips.Image, limit: pyvips.Image) -> pyvips.Image:
    return (image > limit).ifthenelse(limit, image)


def _at_least(image: pyvips.Image, value: float) -> pyvips.Image:
    return (image < value).ifthenelse(value, image)


def _stretched(intensity: pyvips.Image) -> pyvips.Image:
    """The intensity stretched to span 0-255 (its 0.1st to 99.9th percentile), so that the
    tones cover the whole range whatever the picture's exposure; one flat tone is kept."""
    sample = small_copy(intensity).cast("uchar")
    darkest, lightest = sample.min(), sample.max()
    if lightest - darkest < 8:
        return intensity
    # libvips' percent is a histogram threshold: keep it inside the values that occur.
    low, high = max(darkest, sample.percent(0.1)), min(lightest, sample.percent(99.9))
    if high - low < 8:
        low, high = darkest, lightest
    return _at_least(_at_most(intensity.linear(255 / (high - low), -low * 255 / (high - low)), 255), 0)


def _s_curve(rgb: pyvips.Image) -> pyvips.Image:
    """ImageMagick's `-contrast` on 0-1: v + (½(sin(π(v - ½)) + 1) - v) / 2, a gentle S
    (monotonic, so it keeps the channels' order). pyvips' sin takes degrees."""
    v = rgb / 255
    return (v + (((v * 180 - 90).sin() + 1) / 2 - v) / 2) * 255


def blackwhite(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    threshold = 50 if effect.arg(0) == "bw" else effect.integer(0, 50)

    def run(rgb: pyvips.Image) -> pyvips.Image:
        mono = (luminance(rgb) > threshold * 255 / 100).ifthenelse(255, 0)
        return mono.bandjoin([mono, mono])

    return on_color(run)(image)


def negate(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    return on_color(lambda rgb: 255 - rgb)(image)


def _levels(rgb: pyvips.Image, per_channel: bool) -> tuple[list[float], list[float]]:
    """Scale and offset per band that stretch the 1st-99th percentile to 0-255, measured on
    a small sample (luminance, or each channel)."""
    sample = small_copy(rgb)
    bands = [sample.extract_band(i) for i in range(sample.bands)] if per_channel else [luminance(sample)]
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
    amount = effect.integer(0, 100) / 100
    return on_color(lambda rgb: blend(rgb, _stretch(rgb, False), amount))(image)


def auto_color(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    amount = effect.integer(0, 100) / 100
    return on_color(lambda rgb: blend(rgb, _stretch(rgb, True), amount))(image)


def auto_brightness(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    amount = effect.integer(0, 100) / 100
    return on_color(lambda rgb: blend(rgb, rgb + (128 - luminance(small_copy(rgb)).avg()), amount))(image)


def improve(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    """Auto colour balance, then auto contrast, then a little more saturation — measured on a
    sample and applied to the full image as one linear step."""
    args = [a for a in effect.args if a not in ("indoor", "outdoor")]
    amount = (int(args[0]) if args and args[0].isdigit() else 100) / 100

    def run(rgb: pyvips.Image) -> pyvips.Image:
        colour_scale, colour_offset = _levels(rgb, True)
        balanced = small_copy(rgb).linear(colour_scale, colour_offset).cast("uchar")
        contrast_scale, contrast_offset = _levels(balanced, False)
        scale = [a * b for a, b in zip(colour_scale, contrast_scale)]
        offset = [o * b + c for o, b, c in zip(colour_offset, contrast_scale, contrast_offset)]
        stretched = rgb.linear(scale, offset)
        luma = luminance(stretched)
        return blend(rgb, luma + (stretched - luma) * 1.1, amount)

    return on_color(run)(image)


def saturate(rgb: pyvips.Image, factor: float) -> pyvips.Image:
    lch = rgb.colourspace("lch")
    return lch.linear([1, factor, 1], [0, 0, 0]).colourspace("srgb")


def saturation(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    factor = 1 + effect.integer(0, 80) / 100
    return on_color(lambda rgb: saturate(rgb, factor))(image)


def vibrance(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    strength = effect.integer(0, 20) / 100

    def run(rgb: pyvips.Image) -> pyvips.Image:
        lch = rgb.colourspace("lch")
        chroma = lch.extract_band(1)
        boosted = chroma * (1 + strength * (1 - (chroma / 100).ifthenelse(1, chroma / 100)))
        return lch.extract_band(0).bandjoin([boosted, lch.extract_band(2)]).copy(interpretation="lch").colourspace("srgb")

    return on_color(run)(image)


def hue(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    degrees = effect.integer(0, 80) * 1.8

    def run(rgb: pyvips.Image) -> pyvips.Image:
        lch = rgb.colourspace("lch")
        return lch.linear([1, 1, 1], [0, 0, degrees]).colourspace("srgb")

    return on_color(run)(image)


def brightness(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    offset = effect.integer(0, 80) * 255 / 200
    return on_color(lambda rgb: rgb + offset)(image)


def contrast(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    """`e_contrast[:level]` or `e_contrast:level_<level>[;type_<sigmoidal|linear>]`, level
    -100 to 100. A bare level keeps the linear stretch around mid-grey; `type_sigmoidal`
    bends the tones along an S (or its inverse below 0) and never clips highlights."""
    level, kind = contrast_options(effect)
    if kind == "sigmoidal":
        return on_color(lambda rgb: sigmoidal_contrast(rgb, level / 10))(image)
    factor = 1 + level / 100
    return on_color(lambda rgb: rgb.linear(factor, 128 * (1 - factor)))(image)


def contrast_options(effect: Effect) -> tuple[int, str]:
    """(level, function type) from `e_contrast`'s one argument in either form."""
    text = effect.arg(0) or "0"
    level, kind = 0, "linear"
    for part in text.split(";"):
        key, _, value = part.rpartition("_")
        if key == "type" and value in ("sigmoidal", "linear"):
            kind = value
        elif key in ("", "level") and value.lstrip("-").isdigit() and -100 <= int(value) <= 100:
            level = int(value)
        else:  # e.g. a `$variable` left in place: the parser could not check it
            raise UnsupportedTransformation(f"Invalid effect parameter - contrast:{text}")
    if "level_" in text and "type_" not in text:
        kind = "sigmoidal"  # the named form's default function
    return level, kind


def _logistic(image: pyvips.Image | float) -> pyvips.Image | float:
    if isinstance(image, float):
        return 1 / (1 + math.exp(-image))
    return 1 / (1 + (-image).exp())


def sigmoidal_contrast(rgb: pyvips.Image, strength: float) -> pyvips.Image:
    """ImageMagick's sigmoidal contrast on 0-255: `strength` > 0 steepens the mid-tones
    (3 is typical, 10 strong), < 0 applies the inverse curve and flattens them."""
    alpha = abs(strength)
    if alpha < 0.01:
        return rgb
    low, high = float(_logistic(-alpha / 2)), float(_logistic(alpha / 2))
    v = rgb / 255
    if strength > 0:
        curved = (_logistic((v - 0.5) * alpha) - low) / (high - low)
    else:
        inner = v * (high - low) + low
        curved = 0.5 - ((1 / inner) - 1).log() / alpha
    return curved * 255


FILL_LIGHT = 1.4  # a dark tone at lightness 20 rises to about 38 at bias 0


def fill_light(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    """`e_fill_light[:blend 0-100, 100][:bias -100-100, 0]`: lift the shadows (the dark
    tones rise most, black and the highlights stay), keeping hue; a positive bias lifts
    more, a negative one less."""
    amount = effect.integer(0, 100) / 100
    lift = FILL_LIGHT * (1 + effect.integer(1, 0) / 100)

    def run(rgb: pyvips.Image) -> pyvips.Image:
        lch = rgb.colourspace("lch")
        lightness = lch.extract_band(0)
        shadow = ((100 - lightness) / 100) ** 2
        lifted = lightness + lightness * shadow * lift  # most near L = 33, none at 0 or 100
        filled = lifted.bandjoin([lch.extract_band(1), lch.extract_band(2)]).copy(interpretation="lch").colourspace("srgb")
        return blend(rgb, filled, amount)

    return on_color(run)(image)


def gamma(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    exponent = 1 / max(0.1, 1 + effect.integer(0, 0) / 100)
    return on_color(lambda rgb: (rgb / 255) ** exponent * 255)(image)


def channel(index: int) -> EffectFunction:
    """`e_red`, `e_green`, `e_blue`: add to one channel."""
    def run(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
        offsets = [0.0, 0.0, 0.0]
        offsets[index] = effect.integer(0, 0) * 2.55
        return on_color(lambda rgb: rgb + offsets)(image)

    return run


def colorize(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    amount = effect.integer(0, 100) / 100
    color = list(context_color(ctx, "gray")[:3])
    return on_color(lambda rgb: blend(rgb, rgb.new_from_image(color), amount))(image)


def tint(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    """`e_tint[:equalize][:amount][:colour[:position]…]`: `equalize` spreads the histogram first."""
    equalize = effect.args[:1] == ("equalize",)
    if equalize:
        effect = Effect(effect.name, effect.args[1:])
    amount = effect.integer(0, 60) / 100
    # Colours, each optionally followed by its position (`red:blue:80p`).
    colors = [effect.color(index)[:3] for index, arg in enumerate(effect.args) if index > 0 and not arg.endswith("p")]
    colors = colors or [(232, 146, 59)]  # an amber tint when no colour is given

    def run(rgb: pyvips.Image) -> pyvips.Image:
        if equalize:
            rgb = rgb.hist_equal()
        level = luminance(rgb) / 255
        if len(colors) == 1:
            tinted = level * list(colors[0]) * 1.0
        else:
            first, last = colors[0], colors[-1]
            tinted = (1 - level) * list(first) + level * list(last)
        return blend(rgb, tinted, amount)

    return on_color(run)(image)


def _color_arg(effect: Effect, index: int) -> tuple[int, int, int]:
    try:
        red, green, blue, _ = effect.color(index)
        return red, green, blue
    except ParseError as error:
        text = effect.args[index]
        raise UnsupportedTransformation(f"Invalid effect parameter - {effect.name}:{text}", detail=error.message) from None


def _predominant(rgb: pyvips.Image) -> tuple[int, int, int]:
    """The centre of the most common 32-level colour bin of a small sample."""
    import numpy

    bins = small_copy(rgb, 64).numpy().reshape(-1, 3) // 32
    keys, counts = numpy.unique(bins, axis=0, return_counts=True)
    red, green, blue = (int(v) * 32 + 16 for v in keys[counts.argmax()])
    return red, green, blue


def replace_color(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    """`e_replace_color:to[:tolerance[:from]]`: shift colours near `from` (default: the
    predominant colour) towards `to`, keeping their shading; nearer colours move more."""
    if not effect.args:
        raise UnsupportedTransformation("Invalid effect parameter - replace_color needs a target colour")
    target = _color_arg(effect, 0)
    tolerance = effect.bounded(1, 0, 100) if len(effect.args) > 1 else 50
    rgb, alpha = split_alpha(image)
    source = _color_arg(effect, 2) if len(effect.args) > 2 else _predominant(rgb)
    reach = max(1.0, tolerance * 4.42)  # of the RGB cube's diagonal
    distance = ((rgb - list(source)) ** 2).bandmean() ** 0.5 * (3**0.5)
    weight = (distance < reach).ifthenelse(1 - distance / reach, 0)
    shifted = rgb + weight * [t - f for t, f in zip(target, source)]
    return join_alpha(shifted, alpha)
