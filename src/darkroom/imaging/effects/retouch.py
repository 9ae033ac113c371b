"""Retouching that looks for something first: red eyes inside faces (`e_redeye`), and a
picture's background colour to swap for a theme's (`e_theme`)."""

from __future__ import annotations

import pyvips

from darkroom.imaging.effects.base import EffectContext, join_alpha, small_copy, split_alpha
from darkroom.imaging.geometry import Box
from darkroom.imaging.errors import UnsupportedTransformation
from darkroom.transform import Effect, ParseError, theme_options

__all__ = ["redeye", "theme"]

# Where eyes are in a face box, as fractions of its height: below the brow, above the nose.
EYE_BAND = (0.18, 0.58)
# A pixel is "red eye" when red is at least twice the stronger of the other two channels
# (skin and brown hair are nearer 1.5) and bright enough.
RED_DOMINANCE = 2.0
MIN_RED = 100


def redeye(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    """Find faces, and in each face's eye band turn strongly red pixels into a dark pupil
    (red takes the mean of green and blue); nothing outside faces changes."""
    rgb, alpha = split_alpha(image)
    for face in ctx.faces(rgb):
        band = _eye_band(face, rgb.width, rgb.height)
        if band is None:
            continue
        left, top, width, height = band
        rgb = rgb.insert(_fix_red(rgb.crop(left, top, width, height)), left, top)
    return join_alpha(rgb, alpha)


def _eye_band(face: Box, width: int, height: int) -> tuple[int, int, int, int] | None:
    left, right = max(0, face.left), min(width, face.left + face.width)
    top = max(0, face.top + round(face.height * EYE_BAND[0]))
    bottom = min(height, face.top + round(face.height * EYE_BAND[1]))
    if right <= left or bottom <= top:
        return None
    return left, top, right - left, bottom - top


def _fix_red(patch: pyvips.Image) -> pyvips.Image:
    red, green, blue = patch.extract_band(0), patch.extract_band(1), patch.extract_band(2)
    others = (green + blue) / 2
    stronger = (green > blue).ifthenelse(green, blue)
    is_red = (red > MIN_RED) & (red > stronger * RED_DOMINANCE)
    # A soft edge: a one-pixel blur of the mask keeps the pupil from looking cut out.
    weight = is_red.ifthenelse(1.0, 0.0).gaussblur(0.8)
    fixed = others.bandjoin([green, blue])
    return (patch * (1 - weight) + fixed * weight).cast("uchar")


# How far (in RGB distance, 0-441) from the background colour a pixel still counts as
# background at photosensitivity 100; 0 takes only the exact colour, 200 twice as far.
BACKGROUND_REACH = 60.0


def theme(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    """`e_theme:color_<colour>[:photosensitivity_<0-200, 100>]`: the background (the colour
    most of the border has) becomes the theme colour; when the theme's lightness is the
    opposite of the old background's (a light page turned dark), the rest of the picture's
    lightness is inverted too, keeping hues, so text stays readable."""
    try:
        color, sensitivity = theme_options(effect.args)
    except (ValueError, ParseError):
        raise UnsupportedTransformation(f"Invalid effect parameter - theme:{':'.join(effect.args)}") from None
    target = color[:3]
    rgb, alpha = split_alpha(image)
    background = _border_colour(rgb)
    reach = max(1.0, BACKGROUND_REACH * sensitivity / 100)
    distance = ((rgb - list(background)) ** 2).bandmean() ** 0.5 * (3**0.5)
    # Full weight over the nearer half of the reach, fading to none at its end: soft edges.
    weight = (distance < reach).ifthenelse((1 - distance / reach) * 2, 0)
    weight = (weight > 1).ifthenelse(1, weight)
    content = _inverted_lightness(rgb) if _flips_lightness(background, target) else rgb
    themed = content * (1 - weight) + rgb.new_from_image(list(target)) * weight
    return join_alpha(themed, alpha)


def _border_colour(rgb: pyvips.Image) -> tuple[int, int, int]:
    """The median colour of the picture's outermost rows and columns."""
    sample = small_copy(rgb)
    w, h = sample.width, sample.height
    edges = [sample.crop(0, 0, w, 1), sample.crop(0, h - 1, w, 1), sample.crop(0, 0, 1, h).rot90(), sample.crop(w - 1, 0, 1, h).rot90()]
    strip = pyvips.Image.arrayjoin(edges, across=1)
    red, green, blue = (int(strip.extract_band(i).percent(50)) for i in range(3))
    return red, green, blue


def _lightness(colour: tuple[int, int, int]) -> float:
    red, green, blue = colour
    return (0.2126 * red + 0.7152 * green + 0.0722 * blue) / 255


def _flips_lightness(old: tuple[int, int, int], new: tuple[int, ...]) -> bool:
    before, after = _lightness(old), _lightness((new[0], new[1], new[2]))
    return (before - 0.5) * (after - 0.5) < 0 and abs(before - after) > 0.35


def _inverted_lightness(rgb: pyvips.Image) -> pyvips.Image:
    lch = rgb.colourspace("lch")
    flipped = (100 - lch.extract_band(0)).bandjoin([lch.extract_band(1), lch.extract_band(2)])
    return flipped.copy(interpretation="lch").colourspace("srgb")

