"""The one-click effects the console's lightbox offers, and which of them this darkroom renders."""

from __future__ import annotations

from pathlib import Path

from darkroom.addons import ModelCache

__all__ = ["ADDON_EFFECTS", "EFFECT_PRESETS", "available_effects"]

# One-click lightbox effects (the seed's list), then add-on effects shown once they render.
EFFECT_PRESETS: tuple[tuple[str, str], ...] = (
    ("Original", ""),
    ("Grayscale", "e_grayscale"),
    ("Sepia", "e_sepia:60"),
    ("Auto-enhance", "e_improve"),
    ("Sharpen", "e_sharpen:80"),
    ("Vignette", "e_vignette:50"),
)
ADDON_EFFECTS: tuple[tuple[str, str], ...] = (
    ("Remove background", "e_background_removal"),
    ("Upscale", "e_upscale"),
)
ADDON_MODELS = {"background_removal": "background_removal", "upscale": "upscale"}  # effect → addons.MODEL_FILES key


def available_effects(models_dir: Path | None = None) -> list[dict[str, str]]:
    """The lightbox presets this darkroom can render.

    The seed's five are always offered (a missing renderer shows as a failed image, which
    says more than a hidden button); add-on effects appear only once they can run on any
    picture: with their model in `models_dir` (docs/addons.md). (Without a matting model,
    background removal serves plain backgrounds only: no button that fails on most photos.)
    """
    presets = [{"label": label, "effect": effect} for label, effect in EFFECT_PRESETS]
    models = ModelCache(models_dir)
    for label, effect in ADDON_EFFECTS:
        name = effect.removeprefix("e_").split(":", 1)[0]
        if _renders(name) or models.has_user_model(ADDON_MODELS.get(name, name)):
            presets.append({"label": label, "effect": effect})
    return presets


def _renders(effect_name: str) -> bool:
    """Whether the image renderer implements an effect (rather than refusing it)."""
    try:
        from darkroom import imaging
        from darkroom.imaging import effects
    except ImportError:
        return False
    supported = getattr(imaging, "supported_effects", None)
    if callable(supported):
        return effect_name in supported()
    function = getattr(effects, "EFFECT_FUNCTIONS", {}).get(effect_name)
    # Effects the renderer knows but cannot run are registered as `_unsupported(...)` stubs.
    return function is not None and "_unsupported" not in getattr(function, "__qualname__", "")
