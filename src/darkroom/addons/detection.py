"""Object detection for `detection=…` and `g_<object>`, with the operator's `detector.onnx`.

The contract (models.MODEL_FILES) is a detector exported with its non-maximum suppression:
boxes, scores and label indexes out. Any COCO-style model name Cloudinary documents
(`coco`, `lvis`, `openimages`, `unidet`) is answered by this one detector; its labels file
decides what it can name.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from darkroom.addons.models import ModelCache, ModelUnavailable

__all__ = ["Detection", "detect_objects"]

MIN_SCORE = 0.25
LETTERBOX_GREY = 114


@dataclass(frozen=True)
class Detection:
    label: str
    confidence: float
    box: tuple[int, int, int, int]  # x, y, width, height in the image's pixels


def _letterbox(rgb: np.ndarray, side: int) -> tuple[np.ndarray, float]:
    import cv2

    height, width = rgb.shape[:2]
    scale = side / max(height, width)
    resized = cv2.resize(rgb, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA)
    canvas = np.full((side, side, 3), LETTERBOX_GREY, dtype=np.uint8)
    canvas[: resized.shape[0], : resized.shape[1]] = resized
    return np.ascontiguousarray((canvas.astype(np.float32) / 255.0).transpose(2, 0, 1)[None, ...]), scale


def detect_objects(cache: ModelCache, rgb: np.ndarray) -> list[Detection]:
    session, labels = cache.user_model("detection")
    assert labels is not None  # the detector always has a labels file
    shape = session.get_inputs()[0].shape
    side = int(shape[2]) if len(shape) == 4 and isinstance(shape[2], int) and shape[2] > 0 else 640
    tensor, scale = _letterbox(rgb, side)
    outputs = session.run(None, {session.get_inputs()[0].name: tensor})
    if len(outputs) < 3:
        raise ModelUnavailable(f"detector.onnx has {len(outputs)} outputs; expected boxes, scores and label indexes")
    boxes = np.asarray(outputs[0], dtype=np.float32).reshape(-1, 4)
    scores = np.asarray(outputs[1], dtype=np.float32).reshape(-1)
    indexes = np.asarray(outputs[2]).reshape(-1).astype(np.int64)
    if not len(boxes) == len(scores) == len(indexes):
        raise ModelUnavailable(f"detector.onnx gave {len(boxes)} boxes, {len(scores)} scores and {len(indexes)} labels; expected as many of each")
    found = []
    height, width = rgb.shape[:2]
    for (x1, y1, x2, y2), score, index in zip(boxes, scores, indexes):
        if score < MIN_SCORE or not 0 <= index < len(labels):
            continue
        left, top = max(0, round(x1 / scale)), max(0, round(y1 / scale))
        right, bottom = min(width, round(x2 / scale)), min(height, round(y2 / scale))
        if right > left and bottom > top:
            found.append(Detection(labels[index], round(float(score), 4), (left, top, right - left, bottom - top)))
    found.sort(key=lambda d: -d.confidence)
    return found
