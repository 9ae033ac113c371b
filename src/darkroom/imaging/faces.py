"""Offline face detection with OpenCV's bundled Haar cascades.

Detection runs on a copy at most 640 px wide, converted to grey; boxes come back in the
image's own coordinates. OpenCV is imported lazily, so the rest of the renderer works (and
`g_face` is refused as unsupported) on a machine without it. OpenCV 5 no longer ships the cascades; the
dependency is pinned below 5 for that reason.
"""

from __future__ import annotations

import threading
from typing import Any

import pyvips

from darkroom.imaging.errors import UnsupportedTransformation
from darkroom.imaging.geometry import Box

DETECT_WIDTH = 640  # px: larger images are scaled down to this width before detection


_local = threading.local()  # one classifier per thread: renders run in a thread pool


def _cascade() -> Any:
    classifier = getattr(_local, "classifier", None)
    if classifier is None:
        classifier = _local.classifier = _load_cascade()
    return classifier


def _load_cascade() -> Any:
    try:
        import cv2
    except ImportError:
        raise UnsupportedTransformation("Face detection is not available on this server") from None
    path = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"  # type: ignore[attr-defined]  # cv2's stubs omit `data`
    classifier = cv2.CascadeClassifier(path)
    if classifier.empty():
        raise UnsupportedTransformation("Face detection is not available on this server")
    return classifier


def detect_faces(image: pyvips.Image) -> list[Box]:
    """Faces in `image`, most confident first."""
    classifier = _cascade()
    scale = min(1.0, DETECT_WIDTH / image.width)
    small = image.resize(scale) if scale < 1 else image
    if small.hasalpha():
        small = small.flatten(background=[255, 255, 255])
    grey = small.colourspace("b-w").extract_band(0).cast("uchar").numpy()
    found, _, weights = classifier.detectMultiScale3(
        grey, scaleFactor=1.15, minNeighbors=5, minSize=(20, 20), outputRejectLevels=True
    )
    if len(found) == 0:
        return []
    # Haar cascades see faces in fabric and foliage too; keep the confident detections.
    best = max(float(w) for w in weights)
    kept = [(float(w), box) for w, box in zip(weights, found) if float(w) >= 0.4 * best]
    kept.sort(key=lambda pair: pair[0], reverse=True)
    return [Box(int(x), int(y), int(w), int(h)).scaled(1 / scale, 1 / scale) for _, (x, y, w, h) in kept]


def union(boxes: list[Box]) -> Box:
    left = min(box.left for box in boxes)
    top = min(box.top for box in boxes)
    right = max(box.left + box.width for box in boxes)
    bottom = max(box.top + box.height for box in boxes)
    return Box(left, top, right - left, bottom - top)
