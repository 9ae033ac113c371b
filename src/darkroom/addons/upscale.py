"""`e_upscale`: super-resolution with the operator's `upscale.onnx` (no model: a clear 400).

Cloudinary upscales ×4 and refuses inputs above about 4.2 megapixels; darkroom keeps that
limit and upscales by the model's own factor (2 to 4, read from its output).
"""

from __future__ import annotations

import numpy as np

from darkroom.addons.models import ModelCache, ModelUnavailable
from darkroom.errors import Invalid

__all__ = ["MAX_UPSCALE_PIXELS", "upscale"]

MAX_UPSCALE_PIXELS = 4_200_000


def upscale(cache: ModelCache, rgb: np.ndarray) -> np.ndarray:
    height, width = rgb.shape[:2]
    if height * width > MAX_UPSCALE_PIXELS:
        raise Invalid(f"Image is too large to upscale: {width}x{height} is more than {MAX_UPSCALE_PIXELS} pixels")
    session, _ = cache.user_model("upscale")
    tensor = np.ascontiguousarray((rgb.astype(np.float32) / 255.0).transpose(2, 0, 1)[None, ...])
    try:
        output = np.asarray(session.run(None, {session.get_inputs()[0].name: tensor})[0], dtype=np.float32)
    except Exception as error:  # noqa: BLE001 - onnxruntime's errors are untyped
        raise ModelUnavailable("upscale.onnx could not run on this image (its input must be [1,3,H,W] with dynamic H and W)", detail=str(error)) from None
    if output.ndim != 4 or output.shape[1] != 3 or output.shape[2] % height or output.shape[3] % width:
        raise ModelUnavailable(f"upscale.onnx gave an output of shape {list(output.shape)}; expected [1,3,k*{height},k*{width}]")
    factor = output.shape[2] // height
    if factor != output.shape[3] // width or not 2 <= factor <= 4:
        raise ModelUnavailable(f"upscale.onnx scales by {output.shape[2] / height:g}x{output.shape[3] / width:g}; expected the same factor from 2 to 4")
    result: np.ndarray = np.clip(output[0].transpose(1, 2, 0) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return result
