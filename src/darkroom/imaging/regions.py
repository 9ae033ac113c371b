"""Areas an asset carries from the add-ons into its renders: stored face and custom
coordinates (`face_coordinates`, `custom_coordinates`) and the text found by OCR, each in
pixels of the original as the API took them.

`g_face`/`g_faces` and the face effects use stored faces instead of detecting them;
`g_custom` and `c_crop,g_custom` use the first custom box; `g_ocr_text` (and
`e_blur_region`/`e_pixelate_region` with it) the text. Boxes are scaled to the image's
current size, which is right for the chain's first component (the usual place for a crop).
"""

from __future__ import annotations

from dataclasses import dataclass

from darkroom.imaging.geometry import Box

__all__ = ["Regions", "scaled_boxes"]

Coordinates = tuple[tuple[int, int, int, int], ...]  # x, y, width, height


@dataclass(frozen=True)
class Regions:
    faces: Coordinates | None = None  # None: not stored, detect them
    custom: Coordinates = ()
    text: Coordinates = ()


def scaled_boxes(boxes: Coordinates, source: tuple[int, int], current: tuple[int, int]) -> list[Box]:
    """`boxes` in original pixels → boxes in the current image's pixels."""
    sx = current[0] / source[0] if source[0] else 1.0
    sy = current[1] / source[1] if source[1] else 1.0
    return [Box(round(x * sx), round(y * sy), max(1, round(w * sx)), max(1, round(h * sy))) for x, y, w, h in boxes]

