"""Loading the add-ons' models, once per process, and saying why one is not there.

Two kinds of model:

- shipped in a Python package, found with no configuration: nudenet's detector (moderation),
  rapidocr-onnxruntime's detection and recognition networks (OCR), OpenCV's Haar cascades
  (faces, in `imaging.faces`);
- brought by the operator, one ONNX file per add-on in `DARKROOM_MODELS_DIR`, named and
  shaped as `MODEL_FILES` says (docs/addons.md has the same table for users).

Nothing is ever downloaded. A missing file, or one onnxruntime cannot load or whose inputs
and outputs do not fit the contract, is a `ModelUnavailable` (a 400: the request asked for
something this server cannot do) with a message that says which file and what is wrong.

Sessions are kept in a `ModelCache`: loaded on first use under a lock, then shared by every
thread (onnxruntime's `run` may be called concurrently).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from darkroom.errors import Invalid

__all__ = ["MODEL_FILES", "ModelCache", "ModelFile", "ModelUnavailable", "Availability", "availability"]


class ModelUnavailable(Invalid):
    """The add-on needs a model this server does not have (or cannot load)."""


@dataclass(frozen=True)
class ModelFile:
    """One user-supplied model: its file in DARKROOM_MODELS_DIR and what it must look like."""

    addon: str  # the add-on it serves, in Cloudinary's words
    filename: str
    labels: str | None  # a text file beside it, one label a line, or None
    contract: str  # input and output, for docs and error messages


MODEL_FILES: dict[str, ModelFile] = {
    "background_removal": ModelFile(
        "background removal (e_background_removal, background_removal=cloudinary_ai)", "matting.onnx", None,
        "input float32 [1,3,S,S] RGB scaled to 0..1 then ImageNet-normalised (S from the model, 320 if dynamic); "
        "first output [1,1,S,S] or [1,S,S] foreground probability (U²-Net style; min-max normalised)",
    ),
    "tagging": ModelFile(
        "auto-tagging (categorization=…, auto_tagging=…)", "classifier.onnx", "classifier.labels.txt",
        "input float32 [1,3,S,S] RGB ImageNet-normalised (S from the model, 224 if dynamic); "
        "first output [1,N] logits or probabilities; N lines in classifier.labels.txt",
    ),
    "upscale": ModelFile(
        "upscaling (e_upscale)", "upscale.onnx", None,
        "input float32 [1,3,H,W] RGB 0..1 with dynamic H and W; first output [1,3,k·H,k·W] RGB 0..1, k from 2 to 4",
    ),
    "detection": ModelFile(
        "object detection (detection=…, g_<object>)", "detector.onnx", "detector.labels.txt",
        "input float32 [1,3,S,S] RGB 0..1, letterboxed (S from the model, 640 if dynamic); outputs boxes [N,4] "
        "(x1,y1,x2,y2 in input pixels), scores [N], label indexes [N] (non-maximum suppression done); labels one a line",
    ),
}


def _onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise ModelUnavailable("The add-ons need onnxruntime, which is not installed on this server") from None
    return onnxruntime


def open_session(path: Path, threads: int = 2) -> Any:
    """An onnxruntime session for `path` on the CPU; a clear error for a missing or broken file."""
    if not path.is_file():
        raise ModelUnavailable(f"Model file {path.name} is missing from DARKROOM_MODELS_DIR")
    ort = _onnxruntime()
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as error:  # noqa: BLE001 - onnxruntime raises its own untyped errors for bad files
        raise ModelUnavailable(f"Model file {path.name} cannot be loaded: it is not a valid ONNX model", detail=str(error)) from None


def read_labels(path: Path) -> list[str]:
    if not path.is_file():
        raise ModelUnavailable(f"Labels file {path.name} is missing from DARKROOM_MODELS_DIR")
    labels = [line.strip() for line in path.read_text(errors="replace").splitlines()]
    return [label for label in labels if label]


RECHECK_MISSING = 30.0  # seconds a missing model file is believed missing


class ModelCache:
    """Each model loaded once per process, on first use; thread-safe."""

    def __init__(self, models_dir: Path | None) -> None:
        self.models_dir = models_dir
        self._lock = threading.Lock()
        self._loaded: dict[str, Any] = {}
        self._present: dict[str, tuple[bool, float]] = {}  # model name → (file there, when looked)

    def get(self, key: str, load: Callable[[], Any]) -> Any:
        """The object `load` builds for `key`, built at most once (a failure is not remembered:
        the operator may add the file while the server runs)."""
        found = self._loaded.get(key)
        if found is not None:
            return found
        with self._lock:
            found = self._loaded.get(key)
            if found is None:
                found = self._loaded[key] = load()
        return found

    def user_model(self, name: str) -> tuple[Any, list[str] | None]:
        """The session (and labels) of a model from `MODEL_FILES`."""
        spec = MODEL_FILES[name]
        if self.models_dir is None:
            raise ModelUnavailable(f"The {spec.addon} add-on needs a model: set DARKROOM_MODELS_DIR and put {spec.filename} in it")
        folder = self.models_dir

        def load() -> tuple[Any, list[str] | None]:
            session = open_session(folder / spec.filename)
            labels = read_labels(folder / spec.labels) if spec.labels else None
            return session, labels

        loaded: tuple[Any, list[str] | None] = self.get(name, load)
        return loaded

    def has_user_model(self, name: str) -> bool:
        """Whether the model's file is there. Asked on the event loop at each render miss, so
        the answer is kept: a file found stays found; a missing one is looked for again after
        `RECHECK_MISSING` seconds (the operator may add it while the server runs)."""
        if self.models_dir is None:
            return False
        present, looked = self._present.get(name, (False, -RECHECK_MISSING))
        if present or time.monotonic() - looked < RECHECK_MISSING:
            return present
        present = (self.models_dir / MODEL_FILES[name].filename).is_file()
        self._present[name] = (present, time.monotonic())
        return present


@dataclass(frozen=True)
class Availability:
    addon: str
    available: bool
    why: str  # where the model comes from, or why there is none


def availability(cache: ModelCache) -> list[Availability]:
    """Each add-on and whether it can run here: `darkroom addons` prints this."""
    from darkroom.addons import moderation, ocr  # the shipped models' probes

    found = [
        Availability("faces (g_face, e_blur_faces, faces=true)", *_cv2_cascades()),
        Availability("moderation aws_rek", *moderation.shipped_model()),
        Availability("moderation manual", True, "built in"),
        Availability("OCR adv_ocr", *ocr.shipped_model()),
    ]
    for name, spec in MODEL_FILES.items():
        if cache.models_dir is None:
            found.append(Availability(spec.addon, False, f"DARKROOM_MODELS_DIR is not set ({spec.filename})"))
            continue
        try:
            cache.user_model(name)
        except ModelUnavailable as error:
            found.append(Availability(spec.addon, False, error.message))
        else:
            found.append(Availability(spec.addon, True, str(cache.models_dir / spec.filename)))
    if cache.models_dir is None or not cache.has_user_model("background_removal"):
        found.append(Availability("background removal, plain backgrounds", True, "classical matting (OpenCV GrabCut), no model"))
    found.append(Availability("auto-tagging, built-in tags", True, "colours, faces and moderation labels, no model"))
    found.append(Availability("enhance (e_enhance, e_viesus_correct)", True, "darkroom's classical enhancer (e_improve)"))
    return found


def _cv2_cascades() -> tuple[bool, str]:
    try:
        import cv2
    except ImportError:
        return False, "OpenCV is not installed"
    path = Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"  # type: ignore[attr-defined]  # cv2's stubs omit `data`
    return (True, f"OpenCV Haar cascade ({path.name})") if path.is_file() else (False, "OpenCV ships no Haar cascades (OpenCV 5?)")
