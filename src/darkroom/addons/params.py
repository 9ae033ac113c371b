"""The add-on parameters of upload, explicit and the Admin API's update, read and validated.

Pure: text in, a frozen `AddonRequest` out, or an `Invalid` in Cloudinary's wording
(reference cloudinary-addons.md §10). The Upload API (upload, explicit) and the Admin API
(update) word the same mistake differently: upload names the parameter ("Raw convert is
invalid", "Detection invalid model 'x'"), update says "Illegal value for parameter …".

A value Cloudinary knows but darkroom does not run (`pixelz`, `webpurify`, video tagging,
every `raw_convert`) is refused as Cloudinary refuses an add-on the account lacks:
"You don't have an active subscription for …". Nothing is stored in either case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from darkroom.errors import Invalid

__all__ = [
    "AddonRequest",
    "Box",
    "NotSubscribed",
    "coordinates_text",
    "parse_addon_params",
    "parse_coordinates",
]

Caller = Literal["upload", "update"]
Box = tuple[int, int, int, int]  # x, y, width, height in pixels of the original

ADDON_PARAMS = (
    "background_removal", "categorization", "auto_tagging", "detection", "ocr", "raw_convert", "moderation",
    "face_coordinates", "custom_coordinates",
)


class NotSubscribed(Invalid):
    """A real Cloudinary add-on that this server does not run."""


@dataclass(frozen=True)
class AddonRequest:
    """What one request asks the add-ons for; empty fields ask for nothing."""

    background_removal: str = ""  # "cloudinary_ai", "cloudinary_ai:fine_edges", "cloudinary_ai:<object>"
    categorization: tuple[str, ...] = ()  # kinds, e.g. ("google_tagging", "aws_rek_tagging"), language suffix removed
    auto_tagging: float | None = None  # confidence threshold for adding categories as tags
    detection: tuple[str, ...] = ()  # model names as asked, e.g. ("coco_v2", "adv_face")
    ocr: str = ""  # "adv_ocr" (and its document/language variants)
    moderation: tuple[str, ...] = ()  # kinds in order, e.g. ("aws_rek", "manual"); arguments kept: "aws_rek:explicit_nudity:0.8"
    face_coordinates: tuple[Box, ...] | None = None  # None: not given; (): cleared
    custom_coordinates: tuple[Box, ...] | None = None

    @property
    def analyses(self) -> bool:
        """Whether anything needs the pixels (not just storing coordinates)."""
        return bool(self.background_removal or self.categorization or self.detection or self.ocr or self.moderation)


def parse_addon_params(params: dict[str, str], caller: Caller) -> AddonRequest:
    """Every add-on parameter of `params`, validated; the first bad one is a 400."""
    _raw_convert(params.get("raw_convert", ""), caller)
    return AddonRequest(
        background_removal=_background_removal(params.get("background_removal", ""), caller),
        categorization=_categorization(params.get("categorization", ""), caller),
        auto_tagging=_auto_tagging(params.get("auto_tagging", ""), caller),
        detection=_detection(params.get("detection", ""), caller),
        ocr=_ocr(params.get("ocr", ""), caller),
        moderation=_moderation(params.get("moderation", ""), caller),
        face_coordinates=_coordinates(params, "face_coordinates", caller),
        custom_coordinates=_coordinates(params, "custom_coordinates", caller),
    )


def _illegal(name: str, value: str) -> Invalid:
    return Invalid(f"Illegal value for parameter {name} - {value}")


def _refuse(caller: Caller, name: str, value: str, upload_message: str) -> Invalid:
    return _illegal(name, value) if caller == "update" else Invalid(upload_message)


# -- background removal -----------------------------------------------------------------------

_OBJECT_NAME = re.compile(r"[a-z][a-z_ ]{0,40}")


def _background_removal(value: str, caller: Caller) -> str:
    value = value.strip()
    if not value:
        return ""
    provider, _, option = value.partition(":")
    if provider == "cloudinary_ai" and (not option or option == "fine_edges" or _OBJECT_NAME.fullmatch(option)):
        return value
    if provider == "pixelz" and not option:
        raise NotSubscribed("You don't have an active subscription for Pixelz")
    raise _refuse(caller, "background_removal", value, "Background removal is invalid")


# -- categorization and auto-tagging -----------------------------------------------------------

IMAGE_TAGGERS = ("google_tagging", "imagga_tagging", "aws_rek_tagging")
VIDEO_TAGGERS = {
    "google_video_tagging": "Google Automatic Video Tagging",
    "aws_rek_video_tagging": "Amazon Rekognition Video Tagging",
    "azure_video_indexer": "Microsoft Azure Video Indexer",
}
_LANGUAGE = re.compile(r"[a-z]{2,3}(?:-[A-Za-z]{2,4})?")


def _categorization(value: str, caller: Caller) -> tuple[str, ...]:
    kinds = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        kind, *languages = item.split(":")
        known = kind in IMAGE_TAGGERS or kind in VIDEO_TAGGERS
        if not known or not all(_LANGUAGE.fullmatch(language) for language in languages):
            raise _refuse(caller, "categorization", value, f"Categorization item {item} is not valid")
        if kind in VIDEO_TAGGERS:
            raise NotSubscribed(f"You don't have an active subscription for {VIDEO_TAGGERS[kind]}")
        kinds.append(kind)
    return tuple(dict.fromkeys(kinds))


def _auto_tagging(value: str, caller: Caller) -> float | None:
    value = value.strip()
    if not value:
        return None
    try:
        threshold = float(value)
    except ValueError:
        threshold = -1.0
    if not 0.0 <= threshold <= 1.0:
        raise _refuse(caller, "auto_tagging", value, f"Auto tagging {value} is not valid: expected a number from 0.0 to 1.0")
    return threshold


# -- detection ---------------------------------------------------------------------------------

# The model names Cloudinary documents; `_v<N>` pins a version.
DETECTION_MODELS = (
    "coco", "lvis", "openimages", "unidet", "human-anatomy", "cld-fashion", "cld-text", "captioning",
    "adv_face", "aws_rek_face", "iqa", "watermark-detection",
)
_VERSION = re.compile(r"_v\d{1,3}$")


def detection_family(model: str) -> str:
    """`coco_v2` → `coco`."""
    return _VERSION.sub("", model)


def _detection(value: str, caller: Caller) -> tuple[str, ...]:
    models = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        if detection_family(item) not in DETECTION_MODELS:
            raise _refuse(caller, "detection", value, f"Detection invalid model '{item}'")
        models.append(item)
    return tuple(dict.fromkeys(models))


# -- OCR ---------------------------------------------------------------------------------------

_OCR = re.compile(r"adv_ocr(?::(?:document|[a-z]{2,3}(?:-[A-Za-z]{2,4})?))*")


def _ocr(value: str, caller: Caller) -> str:
    value = value.strip()
    if not value:
        return ""
    if not _OCR.fullmatch(value):
        raise _refuse(caller, "ocr", value, f"OCR {value} is invalid")
    return value


# -- raw conversion ------------------------------------------------------------------------------

RAW_CONVERTERS = {
    "aspose": "Aspose Document Conversion",
    "google_speech": "Google AI Video Transcription",
    "azure_video_indexer": "Microsoft Azure Video Indexer",
    "extract_text": "Text extraction",
    "google_translate": "Google Translation",
}


def _raw_convert(value: str, caller: Caller) -> None:
    """Validated, then refused: no converter runs on this server."""
    value = value.strip()
    if not value:
        return None
    for item in (part.strip() for part in value.split(",")):
        kind = item.split(":", 1)[0]
        if kind not in RAW_CONVERTERS:
            raise _refuse(caller, "raw_convert", value, "Raw convert is invalid")
    raise NotSubscribed(f"You don't have an active subscription for {RAW_CONVERTERS[value.split(':', 1)[0].split(',')[0]]}")


# -- moderation ----------------------------------------------------------------------------------

MODERATION_KINDS = {  # kind → the add-on's name, for kinds darkroom does not run
    "manual": "",
    "aws_rek": "",
    "aws_rek_video": "Amazon Rekognition Video Moderation",
    "google_video_moderation": "Google Automatic Video Moderation",
    "webpurify": "WebPurify Image Moderation",
    "metascan": "Metadefender Anti-malware Protection",
    "perception_point": "Perception Point Malware Detection",
    "duplicate": "Duplicate Image Detection",
}
_AWS_REK_ARGUMENT = re.compile(r"[a-z_]{1,60}:(?:0(?:\.\d+)?|1(?:\.0+)?)")


def _moderation(value: str, caller: Caller) -> tuple[str, ...]:
    value = value.strip()
    if not value:
        return ()
    items = [item.strip() for item in value.split("|")]
    for position, item in enumerate(items):
        kind, _, argument = item.partition(":")
        valid = kind in MODERATION_KINDS and (
            (kind == "manual" and not argument and position == len(items) - 1)
            or (kind == "aws_rek" and (not argument or _aws_rek_arguments(argument)))
            or kind not in ("manual", "aws_rek")
        )
        if not valid:
            raise Invalid(f"Moderation {item} moderation is not valid")
    for item in items:
        name = MODERATION_KINDS[item.partition(":")[0]]
        if name:
            raise NotSubscribed(f"You don't have an active subscription for {name}")
    return tuple(items)


def _aws_rek_arguments(argument: str) -> bool:
    """`explicit_nudity:0.8:suggestive:0.5` — category/threshold pairs."""
    parts = argument.split(":")
    return len(parts) % 2 == 0 and all(_AWS_REK_ARGUMENT.fullmatch(f"{a}:{b}") for a, b in zip(parts[::2], parts[1::2]))


# -- coordinates ---------------------------------------------------------------------------------


def _coordinates(params: dict[str, str], name: str, caller: Caller) -> tuple[Box, ...] | None:
    if name not in params:
        return None
    try:
        return parse_coordinates(params[name])
    except Invalid:
        raise _refuse(caller, name, params[name], f"Invalid {name} - {params[name]}: expected x,y,width,height[|x,y,width,height…]") from None


def parse_coordinates(text: str) -> tuple[Box, ...]:
    """`1,2,3,4|5,6,7,8` (or a JSON-ish `[[1,2,3,4]]`) → boxes; "" clears them."""
    text = re.sub(r"\s+", "", text).replace("[[", "").replace("]]", "").replace("],[", "|").strip("[]")
    if not text:
        return ()
    boxes = []
    for part in text.split("|")[:100]:
        numbers = [piece.strip() for piece in part.split(",")]
        if len(numbers) != 4 or not all(re.fullmatch(r"\d{1,6}(?:\.0+)?", n) for n in numbers):
            raise Invalid(f"Invalid coordinates - {text}")
        x, y, w, h = (int(float(n)) for n in numbers)
        boxes.append((x, y, w, h))
    return tuple(boxes)


def coordinates_text(boxes: tuple[Box, ...] | list[list[int]]) -> str:
    return "|".join(",".join(str(int(v)) for v in box) for box in boxes)
