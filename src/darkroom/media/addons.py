"""The add-ons as use cases: what upload, explicit, update and delivery ask of them.

- `addon_request` validates every add-on parameter before anything is stored (a 400 in
  Cloudinary's wording, `addons.params`).
- `analyse` runs what the request asks for on a file (moderation, OCR, tagging, detection)
  in a worker thread, never on the event loop, and returns `Findings`: what the catalog
  keeps (`annotations`, tags) and what the reply shows (`moderation`, `info`).
- `cut_out` replaces an upload's file by its cut-out (`background_removal=cloudinary_ai`).
- `render_extras` gives delivery the asset's stored areas (faces, custom coordinates, OCR
  text) and the model-backed effects (`e_background_removal`, `e_upscale`).
- `moderation_decided` sends the moderation webhooks (through `media.notifications`' jobs).

Models are loaded once per process (`addons.ModelCache`), per DARKROOM_MODELS_DIR.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import anyio
import numpy as np

from darkroom.addons import AddonRequest, ModelCache, parse_addon_params
from darkroom.addons.detection import detect_objects
from darkroom.addons.matting import cut_out_png, with_alpha
from darkroom.addons.moderation import moderate
from darkroom.addons.ocr import read_text, text_boxes, vision_annotations
from darkroom.addons.params import detection_family
from darkroom.addons.tagging import builtin_categories, classify
from darkroom.addons.upscale import upscale
from darkroom.catalog import Asset
from darkroom.errors import Invalid
from darkroom.imaging import InvalidImage
from darkroom.imaging.model_effects import ModelEffect, faces_in, load_rgb
from darkroom.imaging.regions import Regions
from darkroom.media.spool import SpooledFile, spool_bytes

if TYPE_CHECKING:  # services → caches → derivatives → this module
    from darkroom.media.services import Services

__all__ = [
    "Findings", "StoredAnalysis", "addon_request", "analyse", "analyse_stored", "clamped_faces", "cut_out", "record_stored",
    "stored_coordinates", "model_cache", "moderation_decided", "reply_fields", "render_extras",
]

log = logging.getLogger("darkroom.addons")

# Analyses run on a copy at most this many pixels on its longer side: OCR needs the detail,
# the rest do not care; boxes are scaled back to the original's pixels.
ANALYSIS_SIDE = 2000

_caches: dict[Path | None, ModelCache] = {}
_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = weakref.WeakKeyDictionary()


def _inference_slots() -> anyio.CapacityLimiter:
    """Analyses at once in this process: one per core. OCR alone peaks near 0.5 GB
    (bench/addons.py), so uploads asking for add-ons queue here rather than pile up in
    anyio's default 40 worker threads."""
    key = asyncio.get_running_loop()  # a limiter belongs to its event loop
    limiter = _limiters.get(key)
    if limiter is None:
        limiter = _limiters[key] = anyio.CapacityLimiter(max(1, os.cpu_count() or 1))
    return limiter


def model_cache(services: Services) -> ModelCache:
    """This process's models for the configured DARKROOM_MODELS_DIR."""
    folder = services.settings.models_dir
    cache = _caches.get(folder)
    if cache is None:
        cache = _caches[folder] = ModelCache(folder)
    return cache


def addon_request(params: dict[str, Any], caller: Literal["upload", "update"]) -> AddonRequest:
    """The add-on parameters, validated (a JSON Admin body may hold numbers: read as text)."""
    return parse_addon_params({key: str(value) for key, value in params.items() if value is not None}, caller)


@dataclass
class Findings:
    """What one request's add-ons found: `annotations` keys to store (catalog/moderation.py),
    tags to add, and the reply's `info` blocks."""

    annotations: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    info: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add_info(self, family: str, kind: str, block: dict[str, Any]) -> None:
        self.info.setdefault(family, {})[kind] = block


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def analyse(services: Services, path: Path, request: AddonRequest, *, resource_type: str, width: int | None) -> Findings:
    """Run the analyses `request` asks for on the file at `path` (in a worker thread)."""
    findings = Findings()
    _coordinates(findings, request)
    cache = model_cache(services)
    if not (request.categorization or request.detection or request.ocr or _automatic(request)):
        _moderate(cache, None, request, findings)  # manual moderation needs no pixels: any asset may have it
        return findings
    if resource_type != "image":
        raise Invalid("Automatic moderation, OCR, tagging and detection are available for images only")
    return await anyio.to_thread.run_sync(lambda: _analyse_pixels(cache, path, request, findings, width), limiter=_inference_slots())


def _coordinates(findings: Findings, request: AddonRequest) -> None:
    if request.face_coordinates is not None:
        findings.annotations["faces"] = [list(box) for box in request.face_coordinates] or None
    if request.custom_coordinates is not None:
        findings.annotations["custom"] = [list(box) for box in request.custom_coordinates] or None


def _analyse_pixels(cache: ModelCache, path: Path, request: AddonRequest, findings: Findings, width: int | None) -> Findings:
    """Runs in a worker thread. Boxes found on the (possibly shrunk) copy are scaled back."""
    try:
        rgb = load_rgb(path, max_side=ANALYSIS_SIDE)
    except InvalidImage:
        raise Invalid("Automatic moderation, OCR, tagging and detection are available for images only") from None
    scale = rgb.shape[1] / width if width else 1.0
    faces = functools.cache(lambda: faces_in(rgb))  # adv_face detection and the tagger both count faces
    labels = _moderate(cache, rgb, request, findings)
    if request.ocr:
        lines = read_text(cache, rgb)
        findings.annotations["ocr"] = [_back(box, scale) for box in text_boxes(lines)] or None
        findings.annotations["ocr_text"] = "\n".join(line.text for line in lines) or None
        findings.add_info("ocr", "adv_ocr", {"status": "complete", "data": _scaled_vision(vision_annotations(lines), scale)})
    detected = _detect(cache, rgb, faces, request, findings, scale)
    if request.categorization:
        _categorize(cache, rgb, len(faces()), request, findings, labels, detected)
    return findings


def _back(box: list[int] | tuple[int, ...], scale: float) -> list[int]:
    return [round(value / scale) for value in box]


def _scaled_vision(data: list[dict[str, Any]], scale: float) -> list[dict[str, Any]]:
    if scale == 1.0:
        return data
    for page in data:
        for annotation in page["textAnnotations"]:
            for vertex in annotation["boundingPoly"]["vertices"]:
                vertex["x"], vertex["y"] = round(vertex["x"] / scale), round(vertex["y"] / scale)
    return data


def _automatic(request: AddonRequest) -> bool:
    return any(not item.startswith("manual") for item in request.moderation)


def _moderate(cache: ModelCache, rgb: np.ndarray | None, request: AddonRequest, findings: Findings) -> list[str]:
    """The moderation chain: kinds run in order; after a rejection the rest are aborted."""
    if not request.moderation:
        return []
    entries: list[dict[str, Any]] = []
    labels: list[str] = []
    rejected = False
    for item in request.moderation:
        kind = item.split(":", 1)[0]
        if rejected:
            entries.append({"kind": kind, "status": "aborted"})
        elif kind == "manual":
            entries.append({"kind": "manual", "status": "pending"})
        else:  # aws_rek: the only automatic kind addons.params lets through
            assert rgb is not None  # `analyse` loads the pixels for automatic kinds
            verdict = moderate(cache, rgb, item)
            entries.append({"kind": kind, "status": verdict.status, "response": {"moderation_labels": verdict.labels}, "updated_at": _now()})
            labels.extend(str(label["name"]) for label in verdict.labels)
            rejected = verdict.status == "rejected"
    findings.annotations["moderation"] = entries
    return labels


def _detect(cache: ModelCache, rgb: np.ndarray, faces_found: Callable[[], list[tuple[int, int, int, int]]], request: AddonRequest, findings: Findings, scale: float) -> list[tuple[str, float]]:
    found: list[tuple[str, float]] = []
    objects: dict[str, Any] = {}
    for model in request.detection:
        if detection_family(model) == "adv_face":
            faces = [_back(box, scale) for box in faces_found()]
            data = [{"bounding_box": {"top": y, "left": x, "width": w, "height": h}, "attributes": {}, "facial_landmarks": {}} for x, y, w, h in faces]
            findings.add_info("detection", "adv_face", {"status": "complete", "data": data})
            found.extend(("face", 0.9) for _ in faces[:1])
            continue
        tags: dict[str, list[dict[str, Any]]] = {}
        for detection in detect_objects(cache, rgb):
            box = _back(detection.box, scale)
            tags.setdefault(detection.label, []).append({"bounding-box": box, "confidence": detection.confidence, "categories": [], "attributes": {}})
            found.append((detection.label, detection.confidence))
        objects[model] = {"model_version": 1, "schema_version": "1.0.0", "tags": tags}
    if objects:
        findings.add_info("detection", "object_detection", {"status": "complete", "data": objects})
    return found


def _categorize(
    cache: ModelCache, rgb: np.ndarray, face_count: int, request: AddonRequest, findings: Findings, moderation_labels: list[str], detected: list[tuple[str, float]]
) -> None:
    """Every provider asked is answered by darkroom's tagger (docs/addons.md)."""
    categories = classify(cache, rgb) if cache.has_user_model("tagging") else []
    categories += builtin_categories(rgb, face_count, moderation_labels)
    categories += detected
    best: dict[str, float] = {}
    for tag, confidence in categories:
        best[tag] = max(best.get(tag, 0.0), confidence)
    ranked = sorted(best.items(), key=lambda item: -item[1])
    data = [{"tag": tag, "confidence": confidence} for tag, confidence in ranked]
    for kind in request.categorization:
        findings.add_info("categorization", kind, {"status": "complete", "data": data})
    if request.auto_tagging is not None:
        threshold = request.auto_tagging
        findings.tags = [tag for tag, confidence in ranked if confidence >= threshold]
        # Where each added tag came from, for the console: {tag: [provider names, confidence]}.
        findings.annotations["auto_tags"] = {tag: [list(request.categorization), confidence] for tag, confidence in ranked if confidence >= threshold} or None


async def cut_out(services: Services, path: Path, filename: str) -> tuple[SpooledFile, Findings]:
    """`background_removal=cloudinary_ai` on upload: the file's cut-out as a PNG spool file
    (the caller discards it) and the `info.background_removal` block saying how it was made."""
    cache = model_cache(services)

    def run() -> tuple[SpooledFile, str]:
        png, method = cut_out_png(cache, path, max_pixels=services.settings.max_image_pixels)
        stem = filename.rsplit(".", 1)[0] if "." in filename else filename
        return spool_bytes(services.spool_dir, "cutout-", f"{stem}.png", png), method

    cut, method = await anyio.to_thread.run_sync(run, limiter=_inference_slots())
    findings = Findings()
    findings.add_info("background_removal", "cloudinary_ai", {"status": "complete", "data": {"method": method}})
    return cut, findings


def reply_fields(asset: Asset, findings: Findings | None = None) -> dict[str, Any]:
    """`moderation` (when the asset is moderated) and `info` (when add-ons ran) for a reply."""
    fields: dict[str, Any] = {}
    moderation = asset.annotations.get("moderation")
    if moderation:
        fields["moderation"] = moderation
    if findings is not None and findings.info:
        fields["info"] = findings.info
    return fields


def stored_coordinates(asset: Asset) -> dict[str, list[list[int]]]:
    """`coordinates` of a details reply: stored faces and custom boxes."""
    return {"faces": list(asset.annotations.get("faces") or []), "custom": list(asset.annotations.get("custom") or [])}


def clamped_faces(asset: Asset) -> list[list[int]] | None:
    """Stored face coordinates cut to the image, as upload's `faces` reports them; None when none are stored."""
    faces = asset.annotations.get("faces")
    if not faces or not asset.width or not asset.height:
        return None
    return [[x, y, max(0, min(w, asset.width - x)), max(0, min(h, asset.height - y))] for x, y, w, h in faces]


ObjectFinder = Callable[[np.ndarray], list[tuple[str, float, tuple[int, int, int, int]]]]


def render_extras(services: Services, asset: Asset) -> tuple[Regions, dict[str, ModelEffect], ObjectFinder | None]:
    """The asset's stored areas, the model-backed effects and (with a detector) the object
    finder for `g_<object>`, for a render."""
    annotations = asset.annotations

    def boxes(key: str) -> tuple[tuple[int, int, int, int], ...]:
        return tuple((int(b[0]), int(b[1]), int(b[2]), int(b[3])) for b in annotations.get(key) or [])

    regions = Regions(faces=boxes("faces") or None, custom=boxes("custom"), text=boxes("ocr"))
    cache = model_cache(services)

    def remove_background(rgb: np.ndarray) -> np.ndarray:
        return with_alpha(cache, rgb)

    def upscaled(rgb: np.ndarray) -> np.ndarray:
        return upscale(cache, rgb)

    def find_objects(rgb: np.ndarray) -> list[tuple[str, float, tuple[int, int, int, int]]]:
        return [(found.label, found.confidence, found.box) for found in detect_objects(cache, rgb)]

    effects: dict[str, ModelEffect] = {"background_removal": remove_background, "bgremoval": remove_background, "upscale": upscaled}
    return regions, effects, find_objects if cache.has_user_model("detection") else None


async def moderation_decided(
    services: Services, asset: Asset, entry: dict[str, Any], notification_url: str | None, *, api_key: str | None = None, manual: bool = False
) -> None:
    """The moderation webhook (`notification_type: "moderation"`, signed and delivered by a job,
    `media.notifications`): after each automatic verdict, to the call's `notification_url`
    or else the cloud's; after a manual change through update, only when the call names a URL."""
    from darkroom.media.notifications import announce  # notifications → services → caches → derivatives → here

    if manual and not notification_url:
        return
    body = {
        "moderation_kind": entry.get("kind"), "moderation_status": entry.get("status"),
        "moderation_response": entry.get("response"), "moderation_updated_at": entry.get("updated_at"),
        "public_id": asset.public_id, "asset_id": asset.asset_id, "resource_type": asset.resource_type, "type": asset.type,
        "version": asset.version, "uploaded_at": asset.uploaded_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    await announce(services, asset.cloud, "moderation", body, url=notification_url or None, api_key=api_key)


@dataclass
class StoredAnalysis:
    """The add-ons run on a stored asset (explicit, update), not yet recorded."""

    findings: Findings
    cut: SpooledFile | None = None  # the cut-out that replaces the original (background removal)

    def discard(self) -> None:
        if self.cut is not None:
            self.cut.discard()


async def analyse_stored(services: Services, asset: Asset | None, request: AddonRequest) -> StoredAnalysis:
    """Run `request` on a stored asset's original; nothing changes yet (`record_stored` does),
    so a failure here leaves the asset as it was. (`asset` may be None when nothing needs its pixels.)"""
    if not request.analyses or asset is None:
        findings = Findings()
        _coordinates(findings, request)
        return StoredAnalysis(findings)
    async with services.local_file(asset.storage_key) as path:
        findings = await analyse(services, path, request, resource_type=asset.resource_type, width=asset.width)
        if not request.background_removal:
            return StoredAnalysis(findings)
        if asset.resource_type != "image":
            raise Invalid("Background removal is available for images only")
        cut, removal = await cut_out(services, path, f"{asset.public_id.rsplit('/', 1)[-1]}.{asset.format}")
    findings.info.update(removal.info)
    return StoredAnalysis(findings, cut)


async def record_stored(
    services: Services, asset: Asset, analysis: StoredAnalysis, notification_url: str | None, *, api_key: str | None = None
) -> tuple[Asset, dict[str, Any]]:
    """Keep what `analyse_stored` found: annotations and tags, then (background removal) the
    cut-out as the asset's new version. Returns the asset and the reply's add-on fields."""
    from darkroom.catalog.moderation import kinds_text, overall_status, record_findings
    from darkroom.media.ingest import StoredExtras, UploadOptions, delete_blobs, ingest

    findings = analysis.findings
    if findings.annotations or findings.tags:
        asset, stale = await services.db(record_findings, asset.pk, findings.annotations, findings.tags)
        services.caches.forget()  # stored areas change renders: a cached asset would keep the old ones
        if stale:
            services.caches.derivatives.forget_asset(asset.pk)
            await delete_blobs(services, stale)
    if analysis.cut is not None:
        kept = asset
        options = UploadOptions(
            resource_type="image", type=kept.type, public_id=kept.public_id, overwrite=True, tags=kept.tags,
            context=dict(kept.context), metadata=dict(kept.metadata), asset_folder=kept.asset_folder, display_name=kept.display_name,
        )
        moderation = kept.annotations.get("moderation") or []

        async def keep_findings(path: Path, resource_type: str, info: Any, chosen: UploadOptions) -> StoredExtras:
            return StoredExtras((), dict(kept.annotations), overall_status(moderation), kinds_text(moderation))

        asset = (await ingest(services, kept.cloud, analysis.cut, options, before_storing=keep_findings)).asset
        services.caches.forget()
    for entry in findings.annotations.get("moderation") or []:
        if entry["kind"] != "manual" and entry["status"] in ("approved", "rejected"):
            await moderation_decided(services, asset, entry, notification_url, api_key=api_key)
    return asset, reply_fields(asset, findings)
