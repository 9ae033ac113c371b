"""`moderation=aws_rek` answered offline by nudenet's detector, in Amazon Rekognition's words.

nudenet ships its ONNX detector (320n.onnx) inside its wheel and runs it on onnxruntime: no
download. Its body-part classes map onto Rekognition's moderation labels (the names and
two-level hierarchy Cloudinary passes on in `moderation[].response.moderation_labels`):
exposed genitals are "Graphic Female/Male Nudity", other exposed parts "Nudity" (both under
"Explicit Nudity"); covered parts, a bare male chest and exposed belly or armpits are
"Suggestive". Classes with no Rekognition counterpart (faces, feet) are not reported.

Verdict, as Cloudinary's aws_rek: rejected when a label's confidence reaches its category's
threshold (0.5 unless `aws_rek:<category>:<threshold>` says otherwise; 0 switches it off).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from darkroom.addons.models import ModelCache, ModelUnavailable

__all__ = ["Verdict", "moderate", "shipped_model", "thresholds_from"]

# nudenet class → (Rekognition label, its parent)
LABELS: dict[str, tuple[str, str]] = {
    "FEMALE_GENITALIA_EXPOSED": ("Graphic Female Nudity", "Explicit Nudity"),
    "MALE_GENITALIA_EXPOSED": ("Graphic Male Nudity", "Explicit Nudity"),
    "FEMALE_BREAST_EXPOSED": ("Nudity", "Explicit Nudity"),
    "BUTTOCKS_EXPOSED": ("Nudity", "Explicit Nudity"),
    "ANUS_EXPOSED": ("Nudity", "Explicit Nudity"),
    "FEMALE_BREAST_COVERED": ("Female Swimwear Or Underwear", "Suggestive"),
    "FEMALE_GENITALIA_COVERED": ("Female Swimwear Or Underwear", "Suggestive"),
    "BUTTOCKS_COVERED": ("Revealing Clothes", "Suggestive"),
    "MALE_BREAST_EXPOSED": ("Barechested Male", "Suggestive"),
    "BELLY_EXPOSED": ("Revealing Clothes", "Suggestive"),
    "ARMPITS_EXPOSED": ("Revealing Clothes", "Suggestive"),
}
DEFAULT_THRESHOLD = 0.5
# Detections below this are noise, not labels (Rekognition's own default MinConfidence is 50%).
MIN_CONFIDENCE = 0.3


@dataclass(frozen=True)
class Verdict:
    status: str  # approved | rejected
    labels: list[dict[str, Any]]  # [{"name", "parent_name", "confidence"}], most confident first


def shipped_model() -> tuple[bool, str]:
    try:
        import nudenet
    except ImportError:
        return False, "the nudenet package is not installed"
    return True, f"nudenet {getattr(nudenet, '__version__', '')} (its bundled 320n.onnx)".replace("  ", " ")


def _detector(cache: ModelCache) -> Any:
    def load() -> Any:
        try:
            from nudenet import NudeDetector
        except ImportError:
            raise ModelUnavailable("You don't have an active subscription for Amazon Rekognition AI Moderation") from None
        return NudeDetector()

    return cache.get("nudenet", load)


def thresholds_from(kind: str) -> dict[str, float]:
    """`aws_rek:explicit_nudity:0.8:suggestive:0` → {"explicit_nudity": 0.8, "suggestive": 0.0}."""
    parts = kind.split(":")[1:]
    return {name: float(value) for name, value in zip(parts[::2], parts[1::2])}


def _key(label: str) -> str:
    return label.lower().replace(" ", "_")


def moderate(cache: ModelCache, rgb: np.ndarray, kind: str = "aws_rek") -> Verdict:
    """The verdict on an RGB uint8 image (H×W×3)."""
    detections = _detector(cache).detect(np.ascontiguousarray(rgb[:, :, ::-1]))  # nudenet reads BGR
    best: dict[tuple[str, str], float] = {}
    for found in detections:
        mapped = LABELS.get(str(found.get("class")))
        score = float(found.get("score", 0.0))
        if mapped is None or score < MIN_CONFIDENCE:
            continue
        best[mapped] = max(best.get(mapped, 0.0), score)
        best[(mapped[1], "")] = max(best.get((mapped[1], ""), 0.0), score)  # the parent is a label too
    thresholds = thresholds_from(kind)
    rejected = False
    for (name, parent), score in best.items():
        threshold = thresholds.get(_key(name), thresholds.get(_key(parent or name), DEFAULT_THRESHOLD))
        if threshold > 0 and score >= threshold:
            rejected = True
    ordered = sorted(best.items(), key=lambda item: -item[1])
    labels: list[dict[str, Any]] = [{"confidence": round(score, 4), "name": name, "parent_name": parent} for (name, parent), score in ordered]
    return Verdict("rejected" if rejected else "approved", labels)
