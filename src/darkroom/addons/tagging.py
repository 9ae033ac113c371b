"""Auto-tagging: categories with confidences, in Cloudinary's `info.categorization` shape.

Whatever provider the request names (`google_tagging`, `aws_rek_tagging`, `imagga_tagging`),
darkroom's own tagger answers (docs/addons.md). With `classifier.onnx` and its labels in
DARKROOM_MODELS_DIR it runs that ImageNet-style classifier; always, it adds built-in tags
that need no model: the main colours, "person"/"face" when faces were found, and the
moderation labels when a moderation ran.
"""

from __future__ import annotations

import numpy as np

from darkroom.addons.matting import normalised_input
from darkroom.addons.models import ModelCache, ModelUnavailable

__all__ = ["Category", "builtin_categories", "classify", "colour_categories"]

Category = tuple[str, float]  # tag, confidence 0..1
TOP_CLASSES = 10
MIN_CLASS_CONFIDENCE = 0.05

# Named colours (sRGB) the colour tags choose from.
COLOURS: dict[str, tuple[int, int, int]] = {
    "black": (20, 20, 20), "white": (240, 240, 240), "gray": (128, 128, 128), "red": (200, 30, 30),
    "orange": (240, 140, 20), "yellow": (240, 220, 40), "green": (40, 160, 60), "blue": (40, 80, 200),
    "purple": (130, 50, 160), "pink": (240, 150, 190), "brown": (120, 70, 30),
}


def classify(cache: ModelCache, rgb: np.ndarray) -> list[Category]:
    session, labels = cache.user_model("tagging")
    shape = session.get_inputs()[0].shape
    side = int(shape[2]) if len(shape) == 4 and isinstance(shape[2], int) and shape[2] > 0 else 224
    scores = np.asarray(session.run(None, {session.get_inputs()[0].name: normalised_input(rgb, side, imagenet=True)})[0], dtype=np.float64)
    scores = scores.reshape(-1)
    assert labels is not None  # the tagging model always has a labels file (models.MODEL_FILES)
    if scores.size != len(labels):
        raise ModelUnavailable(f"classifier.onnx gives {scores.size} scores but classifier.labels.txt has {len(labels)} labels")
    if not (scores.min() >= 0 and abs(scores.sum() - 1.0) < 1e-3):
        exp = np.exp(scores - scores.max())
        scores = exp / exp.sum()
    order = np.argsort(-scores)[:TOP_CLASSES]
    return [(labels[i], round(float(scores[i]), 4)) for i in order if scores[i] >= MIN_CLASS_CONFIDENCE]


def colour_categories(rgb: np.ndarray) -> list[Category]:
    """The named colours covering at least 10% of the image, with their share as confidence."""
    step = max(1, int(np.sqrt(rgb.shape[0] * rgb.shape[1] / 20_000)))
    pixels = rgb[::step, ::step].reshape(-1, 3).astype(np.float32)
    names = list(COLOURS)
    palette = np.array([COLOURS[name] for name in names], dtype=np.float32)
    nearest = np.argmin(((pixels[:, None, :] - palette[None, :, :]) ** 2).sum(axis=2), axis=1)
    shares = np.bincount(nearest, minlength=len(names)) / max(1, len(nearest))
    return sorted(((names[i], round(float(shares[i]), 4)) for i in range(len(names)) if shares[i] >= 0.1), key=lambda c: -c[1])


def builtin_categories(rgb: np.ndarray, faces: int, moderation_labels: list[str]) -> list[Category]:
    found = colour_categories(rgb)
    if faces:
        found = [("person", 0.9), ("face", 0.9), *found]
    found.extend((label.lower(), 0.9) for label in moderation_labels)
    return found
