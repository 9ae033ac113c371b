"""Background removal: an alpha mask for the foreground of an RGB image.

With `matting.onnx` in DARKROOM_MODELS_DIR (a U²-Net-style salient-object network, contract
in `models.MODEL_FILES`) every image can be cut out. Without one, darkroom falls back to a
classical matting that is only right for a subject on a plain background: GrabCut (OpenCV)
seeded with the image's border as background. It first checks that the border *is* plain;
on a busy background it refuses (`BusyBackground`, a 400) rather than return a wrong cut-out.
`Matte.method` says which one ran, and the reply reports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from darkroom.addons.models import ModelCache, ModelUnavailable
from darkroom.errors import Invalid

__all__ = ["BusyBackground", "Matte", "foreground_alpha"]

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
GRABCUT_SIDE = 400  # px: GrabCut runs on a copy this size at most; the mask is scaled back
# A border is "plain" when its colours spread less than this (mean distance to its median, 0-441 RGB units).
PLAIN_BORDER_SPREAD = 18.0


class BusyBackground(Invalid):
    """No matting model, and the background is not plain enough for the classical method."""


@dataclass(frozen=True)
class Matte:
    alpha: np.ndarray  # uint8 H×W, 255 = foreground
    method: str  # "model" (matting.onnx) | "grabcut" (classical, plain backgrounds)


def foreground_alpha(cache: ModelCache, rgb: np.ndarray) -> Matte:
    if cache.has_user_model("background_removal"):
        return Matte(_model_alpha(cache, rgb), "model")
    return Matte(_grabcut_alpha(rgb), "grabcut")


def _side(session: Any, default: int) -> int:
    shape = session.get_inputs()[0].shape
    return int(shape[2]) if len(shape) == 4 and isinstance(shape[2], int) and shape[2] > 0 else default


def normalised_input(rgb: np.ndarray, side: int, *, imagenet: bool) -> np.ndarray:
    """RGB uint8 → float32 [1,3,side,side], 0..1 (ImageNet-normalised when asked)."""
    import cv2

    small = cv2.resize(rgb, (side, side), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    if imagenet:
        small = (small - IMAGENET_MEAN) / IMAGENET_STD
    return np.ascontiguousarray(small.transpose(2, 0, 1)[None, ...], dtype=np.float32)


def _model_alpha(cache: ModelCache, rgb: np.ndarray) -> np.ndarray:
    import cv2

    session, _ = cache.user_model("background_removal")
    side = _side(session, 320)
    output = session.run(None, {session.get_inputs()[0].name: normalised_input(rgb, side, imagenet=True)})[0]
    mask = np.asarray(output, dtype=np.float32).squeeze()
    if mask.ndim != 2:
        raise ModelUnavailable(f"matting.onnx gave an output of shape {list(np.shape(output))}; expected [1,1,S,S]")
    low, high = float(mask.min()), float(mask.max())
    mask = (mask - low) / (high - low) if high > low else np.zeros_like(mask)
    full = cv2.resize(mask, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_LINEAR)
    alpha: np.ndarray = np.clip(full * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return alpha


def _border(rgb: np.ndarray, width: int) -> np.ndarray:
    return np.concatenate([
        rgb[:width].reshape(-1, 3), rgb[-width:].reshape(-1, 3), rgb[:, :width].reshape(-1, 3), rgb[:, -width:].reshape(-1, 3),
    ]).astype(np.float32)


def border_spread(rgb: np.ndarray) -> float:
    """How varied the image's outer 3% is: the mean distance of its colours to their median."""
    width = max(1, round(min(rgb.shape[:2]) * 0.03))
    border = _border(rgb, width)
    return float(np.linalg.norm(border - np.median(border, axis=0), axis=1).mean())


def _grabcut_alpha(rgb: np.ndarray) -> np.ndarray:
    import cv2

    spread = border_spread(rgb)
    if spread > PLAIN_BORDER_SPREAD:
        raise BusyBackground(
            "Background removal without a model works on plain backgrounds only, and this one is busy "
            f"(border colour spread {spread:.0f}, at most {PLAIN_BORDER_SPREAD:.0f}); put matting.onnx in DARKROOM_MODELS_DIR"
        )
    height, width = rgb.shape[:2]
    scale = min(1.0, GRABCUT_SIDE / max(height, width))
    small = cv2.resize(rgb, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA) if scale < 1 else rgb
    bgr = np.ascontiguousarray(small[:, :, ::-1])
    background = np.median(_border(small, 2), axis=0)
    distance = np.linalg.norm(small.astype(np.float32) - background, axis=2)
    mask = np.where(distance < 2 * PLAIN_BORDER_SPREAD + 10, cv2.GC_PR_BGD, cv2.GC_PR_FGD).astype(np.uint8)
    edge = max(1, round(min(small.shape[:2]) * 0.02))
    mask[:edge], mask[-edge:], mask[:, :edge], mask[:, -edge:] = cv2.GC_BGD, cv2.GC_BGD, cv2.GC_BGD, cv2.GC_BGD
    if not (mask == cv2.GC_PR_FGD).any():
        return np.zeros((height, width), dtype=np.uint8)  # nothing stands out from the background
    models = (np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64))
    grabcut: Any = cv2.grabCut  # its stubs want a rect even with GC_INIT_WITH_MASK, where OpenCV takes None
    grabcut(bgr, mask, None, models[0], models[1], 4, cv2.GC_INIT_WITH_MASK)
    foreground = np.where((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD), 255, 0).astype(np.uint8)
    soft: np.ndarray = np.asarray(cv2.GaussianBlur(foreground, (3, 3), 0))  # a soft, anti-aliased edge
    return np.asarray(cv2.resize(soft, (width, height), interpolation=cv2.INTER_LINEAR)) if scale < 1 else soft
