"""Colour vision: `e_simulate_colorblind` shows a picture as people with a colour vision
deficiency see it; `e_assist_colorblind` marks or shifts colours so they can tell them apart.

Simulation uses Machado, Oliveira and Fernandes' matrices (2009) in linear light: full
severity for the -opias, 0.6 for the -anomalies; the monochromacies keep luminance only
(rods) or a trace of colour (blue cones).
"""

from __future__ import annotations

import pyvips

from darkroom.imaging.effects.base import EffectContext, luminance, on_color
from darkroom.imaging.errors import UnsupportedTransformation
from darkroom.transform import Effect

__all__ = ["assist_colorblind", "simulate_colorblind", "simulate"]

Matrix = list[list[float]]

SIMULATIONS: dict[str, Matrix] = {
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]],
    "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]],
    "deuteranomaly": [[0.547494, 0.607765, -0.155259], [0.181692, 0.781742, 0.036566], [-0.010410, 0.027275, 0.983136]],
    "tritanomaly": [[1.104996, -0.046633, -0.058363], [-0.032137, 0.971635, 0.060503], [0.001336, 0.317922, 0.680742]],
}
CONE_MONOCHROMACY_COLOUR = 0.15  # how much colour blue-cone monochromats still tell apart

# Daltonisation: the part of the colour a deuteranope loses, moved into channels they see.
_SHIFT_LOST_COLOUR: Matrix = [[0.0, 0.0, 0.0], [0.7, 1.0, 0.0], [0.7, 0.0, 1.0]]
STRIPE_PERIOD_FRACTION = 1 / 60  # of the shorter side: stripes stay visible at any size
MIN_STRIPE_PERIOD = 6  # px


def _linear(rgb: pyvips.Image) -> pyvips.Image:
    return rgb.copy(interpretation="srgb").colourspace("scrgb")


def _srgb(linear: pyvips.Image) -> pyvips.Image:
    return linear.copy(interpretation="scrgb").colourspace("srgb")


def simulate(rgb: pyvips.Image, condition: str) -> pyvips.Image:
    """`rgb` as seen with `condition` (one of Cloudinary's names)."""
    if condition == "rod_monochromacy":
        grey = luminance(rgb)
        return grey.bandjoin([grey, grey])
    if condition == "cone_monochromacy":
        grey = luminance(rgb)
        return grey.bandjoin([grey, grey]) * (1 - CONE_MONOCHROMACY_COLOUR) + rgb * CONE_MONOCHROMACY_COLOUR
    return _srgb(_linear(rgb).recomb(SIMULATIONS[condition]))


def simulate_colorblind(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    condition = effect.arg(0) or "deuteranopia"
    if condition not in SIMULATIONS and condition not in ("rod_monochromacy", "cone_monochromacy"):
        raise UnsupportedTransformation(f"Invalid effect parameter - simulate_colorblind:{condition}")
    return on_color(lambda rgb: simulate(rgb, condition))(image)


def assist_colorblind(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    """`e_assist_colorblind[:strength 1-100, 10]` lays stripes over reds (one direction) and
    greens (the other), darker as the colour is stronger; `e_assist_colorblind:xray` shifts
    the red-green difference into blue and brightness instead."""
    mode = effect.arg(0) or "10"
    if mode == "xray":
        return on_color(_shift_colours)(image)
    if not mode.isdigit() or not 1 <= int(mode) <= 100:
        raise UnsupportedTransformation(f"Invalid effect parameter - assist_colorblind:{mode}")
    return on_color(lambda rgb: _stripes(rgb, int(mode)))(image)


def _shift_colours(rgb: pyvips.Image) -> pyvips.Image:
    lost = rgb - simulate(rgb, "deuteranopia")
    return rgb + lost.recomb(_SHIFT_LOST_COLOUR)


def _stripes(rgb: pyvips.Image, strength: int) -> pyvips.Image:
    period = max(MIN_STRIPE_PERIOD, round(min(rgb.width, rgb.height) * STRIPE_PERIOD_FRACTION))
    xy = pyvips.Image.xyz(rgb.width, rgb.height)
    x, y = xy.extract_band(0), xy.extract_band(1)
    rising = ((x + y) % period) < period / 3  # "/" over reds
    falling = ((x - y + 100_000 * period) % period) < period / 3  # "\" over greens
    red, green = rgb.extract_band(0), rgb.extract_band(1)
    difference = (red - green) / 255  # > 0 reddish, < 0 greenish
    weight = min(1.0, 0.3 + strength / 50)  # darkness of a stripe over a fully red or green area
    reddish = (difference > 0.15).ifthenelse(difference, 0) * weight
    greenish = (difference < -0.15).ifthenelse(-difference, 0) * weight
    shade = rising.ifthenelse(reddish, 0) + falling.ifthenelse(greenish, 0)
    shade = (shade > 1).ifthenelse(1, shade)
    return rgb * (1 - shade)
