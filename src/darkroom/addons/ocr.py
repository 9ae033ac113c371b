"""`ocr=adv_ocr` answered offline by rapidocr-onnxruntime, in Google Vision's shape.

The wheel ships its three PP-OCR networks (text detection, orientation, recognition) and
runs them on onnxruntime; nothing is downloaded. (It declares a dependency on the GUI build
of OpenCV, which would shadow the headless one darkroom uses: tools/install.sh installs it
without its dependencies, whose other requirements pyproject.toml lists.)

Cloudinary returns Google Vision's `textAnnotations`: the first item the whole text with a
box around all of it, then one item per word. rapidocr finds lines; a line's words get
boxes cut from the line's box in proportion to their characters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from darkroom.addons.models import ModelCache, ModelUnavailable

__all__ = ["TextLine", "read_text", "vision_annotations", "shipped_model", "text_boxes"]

MIN_SCORE = 0.5  # recognitions below this are mostly texture read as letters


@dataclass(frozen=True)
class TextLine:
    text: str
    box: tuple[int, int, int, int]  # x, y, width, height in the image's pixels
    score: float


def shipped_model() -> tuple[bool, str]:
    try:
        import rapidocr_onnxruntime  # noqa: F401 - probing that it is there
    except ImportError:
        return False, "the rapidocr-onnxruntime package is not installed"
    return True, "rapidocr-onnxruntime (its bundled PP-OCRv4 models)"


def _engine(cache: ModelCache) -> Any:
    def load() -> Any:
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError:
            raise ModelUnavailable("You don't have an active subscription for OCR Text Detection and Extraction") from None
        return RapidOCR()

    return cache.get("rapidocr", load)


def read_text(cache: ModelCache, rgb: np.ndarray) -> list[TextLine]:
    """The lines of text in an RGB uint8 image, top to bottom."""
    found, _ = _engine(cache)(np.ascontiguousarray(rgb[:, :, ::-1]))  # BGR, as OpenCV reads files
    lines = []
    for points, text, score in found or []:
        if float(score) < MIN_SCORE or not str(text).strip():
            continue
        xs = [float(p[0]) for p in points]
        ys = [float(p[1]) for p in points]
        box = (round(min(xs)), round(min(ys)), round(max(xs) - min(xs)), round(max(ys) - min(ys)))
        lines.append(TextLine(str(text).strip(), box, float(score)))
    lines.sort(key=lambda line: (line.box[1], line.box[0]))
    return lines


def text_boxes(lines: list[TextLine]) -> list[list[int]]:
    return [list(line.box) for line in lines]


def _vertices(x: int, y: int, w: int, h: int) -> dict[str, Any]:
    return {"vertices": [{"x": x, "y": y}, {"x": x + w, "y": y}, {"x": x + w, "y": y + h}, {"x": x, "y": y + h}]}


def vision_annotations(lines: list[TextLine]) -> list[dict[str, Any]]:
    """`info.ocr.adv_ocr.data`: one page, Google Vision's `textAnnotations` and `fullTextAnnotation`."""
    if not lines:
        return [{"textAnnotations": [], "fullTextAnnotation": {"text": "", "pages": []}}]
    text = "".join(f"{line.text}\n" for line in lines)
    left = min(line.box[0] for line in lines)
    top = min(line.box[1] for line in lines)
    right = max(line.box[0] + line.box[2] for line in lines)
    bottom = max(line.box[1] + line.box[3] for line in lines)
    annotations: list[dict[str, Any]] = [{"locale": "en", "description": text, "boundingPoly": _vertices(left, top, right - left, bottom - top)}]
    for line in lines:
        annotations.extend(_words(line))
    return [{"textAnnotations": annotations, "fullTextAnnotation": {"text": text, "pages": [{"width": right, "height": bottom}]}}]


def _words(line: TextLine) -> list[dict[str, Any]]:
    x, y, w, h = line.box
    total = max(1, len(line.text))
    words = []
    position = 0
    for word in line.text.split(" "):
        if word:
            start = x + round(w * position / total)
            width = max(1, round(w * len(word) / total))
            words.append({"description": word, "boundingPoly": _vertices(start, y, width, h)})
        position += len(word) + 1
    return words
