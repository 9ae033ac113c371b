"""Where the subject is: faces and saliency for `g_face`, `g_auto` and their kin.

Detectors run on a small preview (`PREVIEW` px), found from the cheapest pixels at hand:
the decoded source in memory, a shrink-on-load of the file, or the current image.
"""

from __future__ import annotations

import pyvips

from darkroom.imaging.context import RenderState, first_frame, normalise, with_options
from darkroom.imaging.faces import detect_faces, union
from darkroom.imaging.errors import UnsupportedTransformation
from darkroom.imaging.geometry import Box, is_focus_gravity
from darkroom.vocabulary import OBJECT_NAMES
from darkroom.imaging.regions import Coordinates, scaled_boxes

PREVIEW = 500  # px: faces and saliency are found at this size (4000 px JPEGs shrink 8× on load)


def _preview(state: RenderState) -> tuple[pyvips.Image, float]:
    """A small copy for detectors, and the factor back to current coordinates."""
    if state.image is None and state.decoded is not None:
        small = state.decoded().thumbnail_image(PREVIEW, height=PREVIEW, size="down")
    elif state.image is None:
        small = normalise(pyvips.Image.thumbnail(with_options(state), PREVIEW, height=PREVIEW, size="down", no_rotate=not state.autorotate))
    else:
        frame = first_frame(state)
        factor = min(1.0, PREVIEW / max(frame.width, frame.height))
        small = frame.resize(factor) if factor < 1 else frame
    return small, state.width / small.width


def focus(state: RenderState, gravity: str) -> Box | None:
    """The subject box for face/auto gravities, in current coordinates (None = centre)."""
    if not is_focus_gravity(gravity) or gravity == "xy_center":
        return None
    kind, _, detail = gravity.partition(":")
    stored = stored_focus(state, kind, detail)
    if stored is not None:
        return stored
    small, back = _preview(state)
    wanted = gravity if gravity in OBJECT_NAMES else detail if kind == "auto" and detail in OBJECT_NAMES else None
    if wanted is not None:
        found = _objects(state, small, wanted, required=kind != "auto")
        if found is not None:
            return found.scaled(back, back)
        if kind != "auto":
            return None  # g_dog and no dog: the centre, as Cloudinary
    if kind in ("face", "faces", "adv_face", "adv_faces", "adv_eyes") or detail in ("face", "faces", "adv_face", "adv_faces"):
        faces = detect_faces(small)
        if faces:
            box = union(faces) if "faces" in gravity else faces[0]
            return box.scaled(back, back)
        if kind != "auto":
            return None
    if kind in ("auto", "body", "ocr_text") or detail:
        _, found = small.smartcrop(max(1, small.width // 2), max(1, small.height // 2), interesting="attention", attention_x=True, attention_y=True)
        return Box(round(found["attention_x"] * back), round(found["attention_y"] * back), 1, 1)
    return None


FACE_WORDS = ("face", "faces", "adv_face", "adv_faces", "adv_eyes")


def stored_boxes(state: RenderState, boxes: Coordinates) -> list[Box]:
    """Stored coordinates (original pixels) in the current image's pixels."""
    return scaled_boxes(boxes, (state.initial_width, state.initial_height), (state.width, state.height))


def stored_focus(state: RenderState, kind: str, detail: str) -> Box | None:
    """The box the asset's stored areas give for a gravity (`regions.py`), None to detect."""
    regions = state.regions
    if kind == "custom" and regions.custom:
        return stored_boxes(state, regions.custom[:1])[0]
    if (kind in FACE_WORDS or detail in FACE_WORDS) and regions.faces:
        boxes = stored_boxes(state, regions.faces)
        wants_all = "faces" in (kind, detail) or "adv_faces" in (kind, detail)
        return union(boxes) if wants_all else max(boxes, key=lambda box: box.width * box.height)
    if "ocr_text" in (kind, detail) and regions.text:
        return union(stored_boxes(state, regions.text))
    return None


def _objects(state: RenderState, small: pyvips.Image, name: str, *, required: bool) -> Box | None:
    """Every `name` the configured detector finds in the preview, as one box (None: none found).
    `g_auto:<object>` without a detector falls back to saliency; `g_<object>` is refused."""
    if state.find_objects is None:
        if required:
            raise UnsupportedTransformation(f"Gravity {name} needs an object detector: put detector.onnx in DARKROOM_MODELS_DIR")
        return None
    rgb = small.flatten(background=[255, 255, 255]) if small.hasalpha() else small
    found = [Box(*box) for label, _, box in state.find_objects(rgb.numpy()) if label.replace(" ", "_") == name]
    return union(found) if found else None
