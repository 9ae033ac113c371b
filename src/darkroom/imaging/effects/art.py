"""`e_art:<filter>`: Cloudinary's named art filters, each a small colour recipe.

Cloudinary documents the names and shows a sample of each, not their curves; the recipes
here are ours, written to give each filter its documented character (warm or cool, faded
or punchy, colour or monochrome). Every recipe runs the same steps in the same order:

    monochrome (optional) → channel gains and lifted blacks → brightness
    → sigmoidal contrast → saturation → vignette
"""

from __future__ import annotations

from dataclasses import dataclass

import pyvips

from darkroom.imaging.effects.base import EffectContext, on_color
from darkroom.imaging.effects.color import saturate, sigmoidal_contrast
from darkroom.imaging.errors import UnsupportedTransformation
from darkroom.transform import Effect

__all__ = ["ART_RECIPES", "ArtRecipe", "art"]


@dataclass(frozen=True)
class ArtRecipe:
    gains: tuple[float, float, float] = (1.0, 1.0, 1.0)  # per channel: > 1 warms (red) or cools (blue)
    lift: tuple[float, float, float] = (0.0, 0.0, 0.0)  # 0-255 added to black per channel: a faded look
    brightness: float = 0.0  # 0-255 added to every channel
    contrast: float = 0.0  # sigmoidal strength: 3 is clear, below 0 flattens
    saturation: float = 1.0  # chroma factor: 0 is grey
    monochrome: tuple[float, float, float] | None = None  # channel weights of a black-and-white mix
    vignette: float = 0.0  # 0-1: how dark the corners become


ART_RECIPES: dict[str, ArtRecipe] = {
    "al_dente": ArtRecipe(gains=(1.06, 1.0, 0.88), lift=(12, 6, 0), contrast=2.5, saturation=0.85),
    "athena": ArtRecipe(gains=(1.05, 1.0, 0.94), lift=(34, 28, 22), brightness=8, contrast=-1.5, saturation=0.8),
    "audrey": ArtRecipe(monochrome=(0.5, 0.4, 0.1), contrast=5.0, vignette=0.15),
    "aurora": ArtRecipe(gains=(0.94, 1.03, 1.08), lift=(12, 22, 32), brightness=8, saturation=1.1),
    "daguerre": ArtRecipe(monochrome=(0.3, 0.59, 0.11), gains=(1.08, 0.97, 0.8), lift=(28, 20, 8), contrast=2.0, vignette=0.35),
    "eucalyptus": ArtRecipe(gains=(0.9, 1.05, 0.97), lift=(0, 16, 10), saturation=0.75),
    "fes": ArtRecipe(gains=(1.1, 1.0, 0.84), lift=(26, 16, 4), contrast=-1.0, saturation=0.9),
    "frost": ArtRecipe(gains=(0.88, 1.0, 1.12), lift=(10, 22, 38), brightness=12, saturation=0.7),
    "hairspray": ArtRecipe(gains=(1.08, 1.02, 0.9), lift=(22, 10, 22), contrast=1.5, saturation=1.1),
    "hokusai": ArtRecipe(gains=(0.95, 1.0, 1.1), contrast=4.5, saturation=1.3),
    "incognito": ArtRecipe(brightness=-20, contrast=3.0, saturation=0.5, vignette=0.6),
    "linen": ArtRecipe(gains=(1.03, 1.0, 0.95), lift=(36, 30, 24), brightness=14, contrast=-2.5, saturation=0.85),
    "peacock": ArtRecipe(gains=(0.9, 1.05, 1.1), contrast=2.0, saturation=1.45),
    "primavera": ArtRecipe(gains=(1.0, 1.06, 0.9), lift=(10, 16, 0), brightness=12, saturation=1.15),
    "quartz": ArtRecipe(gains=(1.05, 0.95, 1.06), lift=(22, 10, 22), brightness=10, saturation=0.9),
    "red_rock": ArtRecipe(gains=(1.16, 0.95, 0.84), contrast=2.5, saturation=1.2),
    "refresh": ArtRecipe(gains=(0.98, 1.02, 1.04), brightness=10, contrast=1.5, saturation=1.3),
    "sizzle": ArtRecipe(gains=(1.12, 1.0, 0.86), contrast=3.0, saturation=1.4),
    "sonnet": ArtRecipe(gains=(1.06, 0.97, 1.0), lift=(26, 14, 20), contrast=-1.5, saturation=0.7),
    "ukulele": ArtRecipe(gains=(1.08, 1.05, 0.84), brightness=12, saturation=1.25),
    "zorro": ArtRecipe(monochrome=(0.3, 0.59, 0.11), brightness=-15, contrast=7.0, vignette=0.4),
}


def art(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    name = effect.args[0] if effect.args else ""
    recipe = ART_RECIPES.get(name)
    if recipe is None:
        raise UnsupportedTransformation(f"Invalid effect parameter - art:{name}")
    return on_color(lambda rgb: apply_recipe(rgb, recipe))(image)


def apply_recipe(rgb: pyvips.Image, recipe: ArtRecipe) -> pyvips.Image:
    if recipe.monochrome is not None:
        grey = rgb.recomb([list(recipe.monochrome)])
        rgb = grey.bandjoin([grey, grey]).copy(interpretation="srgb")
    lift = list(recipe.lift)
    scale = [gain * (255 - black) / 255 for gain, black in zip(recipe.gains, lift)]
    toned = rgb.linear(scale, [black + recipe.brightness for black in lift])
    toned = _clip(sigmoidal_contrast(_clip(toned), recipe.contrast))
    if recipe.saturation != 1.0 and recipe.monochrome is None:
        toned = saturate(toned.cast("uchar").copy(interpretation="srgb"), recipe.saturation)
    if recipe.vignette:
        toned = toned * _vignette_mask(toned.width, toned.height, recipe.vignette)
    return toned


def _clip(image: pyvips.Image) -> pyvips.Image:
    image = (image < 0).ifthenelse(0, image)
    return (image > 255).ifthenelse(255, image)


def _vignette_mask(width: int, height: int, strength: float) -> pyvips.Image:
    """1 in the middle, falling to 1 - strength in the corners."""
    xy = pyvips.Image.xyz(width, height)
    cx, cy = width / 2, height / 2
    distance = (((xy.extract_band(0) - cx) / cx) ** 2 + ((xy.extract_band(1) - cy) / cy) ** 2) / 2
    return 1 - distance * strength
