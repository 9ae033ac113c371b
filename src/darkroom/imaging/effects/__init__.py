"""`e_` effects, one small function each, grouped by family, and the table that names them.

    color.py     tones, levels, adjustments, colour replacement
    blur.py      blur, sharpen, pixelate (whole image, regions, faces)
    artistic.py  vignette, oil paint, noise, cartoon
    shape.py     outline, shadow, trim, transparency, fades, shear
    art.py       the named art filters (`e_art:<name>`)
    vision.py    colour blindness: simulation and assistance
    dither.py    ordered dithers
    warp.py      distortions: four corners, arcs
    retouch.py   red eyes, themes
    vector.py    tracing into SVG
    base.py      the context every effect gets, alpha handling, colour measures

Strengths follow Cloudinary's documented ranges and defaults (see `transform`'s effect
specs); the curves are ours, chosen so a higher number always means more of the effect.
Effects that need a model are refused as unsupported until the add-ons part provides them.
"""

from __future__ import annotations

import pyvips

from darkroom.imaging.effects.art import art
from darkroom.imaging.effects.artistic import cartoonify, noise, oil_paint, vignette
from darkroom.imaging.effects.base import EffectContext, EffectFunction, join_alpha, split_alpha
from darkroom.imaging.effects.blur import (
    blur,
    blur_faces,
    blur_region,
    pixelate,
    pixelate_faces,
    pixelate_region,
    sharpen,
    unsharp_mask,
)
from darkroom.imaging.effects.color import (
    auto_brightness,
    auto_color,
    auto_contrast,
    blackwhite,
    brightness,
    channel,
    colorize,
    contrast,
    fill_light,
    gamma,
    grayscale,
    hue,
    improve,
    negate,
    replace_color,
    saturation,
    sepia,
    tint,
    vibrance,
)
from darkroom.imaging.effects.dither import ordered_dither
from darkroom.imaging.effects.retouch import redeye, theme
from darkroom.imaging.effects.vector import vectorize
from darkroom.imaging.effects.vision import assist_colorblind, simulate_colorblind
from darkroom.imaging.effects.warp import distort
from darkroom.imaging.errors import UnsupportedTransformation
from darkroom.imaging.effects.shape import (
    draw_outline,
    gradient_fade,
    make_transparent,
    outline,
    shadow,
    shear,
    trim,
)
from darkroom.transform import Effect

__all__ = ["EFFECT_FUNCTIONS", "EffectContext", "apply_effect", "draw_outline", "join_alpha", "split_alpha"]


def _unsupported(reason: str) -> EffectFunction:
    def run(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
        raise UnsupportedTransformation(f"Effect {effect.name} is not supported: {reason}")

    return run


_NEEDS_MODEL = _unsupported("it needs an AI add-on, which this server does not have")
_NOT_YET = _unsupported("not implemented by this server")

EFFECT_FUNCTIONS: dict[str, EffectFunction] = {
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
    "red": channel(0),
    "green": channel(1),
    "blue": channel(2),
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
    "art": art,
    "fill_light": fill_light,
    "distort": distort,
    "redeye": redeye,
    "ordered_dither": ordered_dither,
    "simulate_colorblind": simulate_colorblind,
    "assist_colorblind": assist_colorblind,
    "vectorize": vectorize,
    "theme": theme,
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
    """Run one effect; unknown-to-the-renderer effects are refused, never a silent no-op."""
    function = EFFECT_FUNCTIONS.get(effect.name, _NOT_YET)
    return function(image, effect, ctx).cast("uchar")
