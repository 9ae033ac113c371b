"""Effects whose pixels come from a model outside `imaging` (`e_background_removal`,
`e_upscale`), and the classical stand-ins for vendor effects (`e_enhance`, `e_viesus_correct`
→ `e_improve`, docs/addons.md).

A model effect is a function from an RGB uint8 array (H×W×3) to an RGB or RGBA array, given
by the caller in `RenderRequest.model_effects` (the application layer builds them from the
add-ons): imaging stays free of model code and the add-ons free of libvips.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyvips

from darkroom.imaging.context import normalise
from darkroom.imaging.errors import InvalidImage
from darkroom.imaging.metrics import thumbnail
from darkroom.transform import Effect

__all__ = ["ModelEffect", "STANDINS", "apply_model_effect", "faces_in", "load_rgb", "rgba_png", "standin"]

ModelEffect = Callable[[np.ndarray], np.ndarray]

# Vendor effects answered by darkroom's classical enhancer.
STANDINS = {"enhance": "improve", "viesus_correct": "improve"}


def standin(effect: Effect) -> Effect:
    return Effect(STANDINS[effect.name]) if effect.name in STANDINS else effect


def _rgb_array(image: pyvips.Image) -> np.ndarray:
    if image.hasalpha():
        image = image.flatten(background=[255, 255, 255])
    return np.ascontiguousarray(image.cast("uchar").numpy()[:, :, :3])


def apply_model_effect(frame: pyvips.Image, effect: ModelEffect) -> pyvips.Image:
    """Run `effect` on a frame; a mask the model returns multiplies an alpha the frame had."""
    result = effect(_rgb_array(frame))
    image = pyvips.Image.new_from_array(np.ascontiguousarray(result)).copy(interpretation="srgb")
    if frame.hasalpha() and image.bands == 4 and (image.width, image.height) == (frame.width, frame.height):
        image = image.extract_band(0, n=3).bandjoin((image.extract_band(3) * frame.extract_band(frame.bands - 1) / 255).cast("uchar"))
    return image.cast("uchar")


def load_rgb(path: str | Path, max_side: int | None = None) -> np.ndarray:
    """A file's pixels, upright, as RGB uint8 (alpha flattened on white); at most `max_side` px on
    its longer side when given (shrink-on-load, so a large JPEG is never decoded whole)."""
    try:
        if max_side is not None:
            image = thumbnail(path, max_side)  # a BMP, ICO, JPEG XL or PDF too, through `foreign`
        else:
            image = pyvips.Image.new_from_file(str(path), access="sequential").autorot()
        return _rgb_array(normalise(image))
    except pyvips.Error as error:
        raise InvalidImage("Image could not be decoded", detail=str(error)) from None


def rgba_png(rgb: np.ndarray, alpha: np.ndarray) -> bytes:
    """RGB plus an alpha mask, encoded as PNG (a cut-out stored as the new original)."""
    image = pyvips.Image.new_from_array(np.ascontiguousarray(np.dstack([rgb, alpha]))).copy(interpretation="srgb")
    data: bytes = image.pngsave_buffer(compression=6)
    return data


def faces_in(rgb: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Face boxes (OpenCV Haar, `faces.py`) in an RGB array, most confident first."""
    from darkroom.imaging.faces import detect_faces

    image = pyvips.Image.new_from_array(np.ascontiguousarray(rgb)).copy(interpretation="srgb")
    return [(box.left, box.top, box.width, box.height) for box in detect_faces(image)]
