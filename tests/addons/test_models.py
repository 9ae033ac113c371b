"""Each user-supplied model's loading, pre- and post-processing, run on a real onnxruntime
session of a tiny model the test builds (`models.py`): shapes, value ranges, and the clear
error for a missing, malformed or misshapen model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from darkroom.addons import ModelCache, ModelUnavailable
from darkroom.addons.detection import detect_objects
from darkroom.addons.matting import foreground_alpha
from darkroom.addons.tagging import classify
from darkroom.addons.upscale import MAX_UPSCALE_PIXELS, upscale

from addons import models


def _bright_square(size: int = 96) -> np.ndarray:
    rgb = np.full((size, size, 3), 10, dtype=np.uint8)
    rgb[size // 4 : 3 * size // 4, size // 4 : 3 * size // 4] = 240
    return rgb


def test_matting_model_gives_a_full_size_mask_from_0_to_255(models_dir: Path) -> None:
    matte = foreground_alpha(ModelCache(models_dir), _bright_square())
    assert matte.method == "model"
    assert matte.alpha.shape == (96, 96) and matte.alpha.dtype == np.uint8
    assert matte.alpha[48, 48] > 200 and matte.alpha[2, 2] < 30  # min-max normalised probability


def test_classifier_ranks_its_labels_with_probabilities(models_dir: Path) -> None:
    red = np.zeros((40, 30, 3), dtype=np.uint8)
    red[..., 0] = 255
    ranked = classify(ModelCache(models_dir), red)
    assert ranked[0][0] == "red"
    assert all(0 <= confidence <= 1 for _, confidence in ranked)
    assert sum(confidence for _, confidence in ranked) <= 1.0001  # softmax of the logits, the unlikely ones dropped


def test_upscale_model_scales_by_its_own_factor(models_dir: Path) -> None:
    rgb = np.random.default_rng(1).integers(0, 255, (10, 14, 3), dtype=np.uint8)
    bigger = upscale(ModelCache(models_dir), rgb)
    assert bigger.shape == (20, 28, 3) and bigger.dtype == np.uint8
    assert np.array_equal(bigger[::2, ::2], rgb)  # nearest neighbour: every source pixel kept


def test_upscale_refuses_inputs_beyond_cloudinarys_limit(models_dir: Path) -> None:
    side = int(MAX_UPSCALE_PIXELS**0.5) + 10
    with pytest.raises(Exception, match="too large to upscale"):
        upscale(ModelCache(models_dir), np.zeros((side, side, 3), dtype=np.uint8))


def test_detector_boxes_come_back_in_image_pixels(models_dir: Path) -> None:
    [found] = detect_objects(ModelCache(models_dir), np.zeros((128, 128, 3), dtype=np.uint8))
    assert found.label == "dog" and found.confidence == pytest.approx(0.9)
    assert found.box == (16, 16, 64, 64)  # (8, 8)–(40, 40) on the 64-px input, ×2


def test_a_model_is_loaded_once_per_cache(models_dir: Path) -> None:
    cache = ModelCache(models_dir)
    assert cache.user_model("upscale")[0] is cache.user_model("upscale")[0]


def test_no_models_folder_names_the_setting() -> None:
    with pytest.raises(ModelUnavailable, match="DARKROOM_MODELS_DIR.*upscale.onnx"):
        ModelCache(None).user_model("upscale")


def test_missing_model_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="upscale.onnx is missing"):
        ModelCache(tmp_path).user_model("upscale")


def test_malformed_model_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "detector.onnx").write_bytes(b"not a model")
    (tmp_path / "detector.labels.txt").write_text("dog\n")
    with pytest.raises(ModelUnavailable, match="detector.onnx cannot be loaded"):
        ModelCache(tmp_path).user_model("detection")


def test_missing_labels_file_is_named(tmp_path: Path) -> None:
    models.classifier(tmp_path / "classifier.onnx").with_suffix(".labels.txt").unlink()
    with pytest.raises(ModelUnavailable, match="classifier.labels.txt is missing"):
        ModelCache(tmp_path).user_model("tagging")


def test_labels_that_do_not_match_the_outputs_are_refused(tmp_path: Path) -> None:
    models.classifier(tmp_path / "classifier.onnx").with_suffix(".labels.txt").write_text("red\ngreen\n")
    with pytest.raises(ModelUnavailable, match="3 scores but classifier.labels.txt has 2 labels"):
        classify(ModelCache(tmp_path), np.zeros((8, 8, 3), dtype=np.uint8))


def test_a_model_of_the_wrong_shape_is_refused(tmp_path: Path) -> None:
    models.classifier(tmp_path / "matting.onnx")  # a classifier where the matting model belongs
    with pytest.raises(ModelUnavailable, match=r"matting.onnx gave an output of shape \[1, 3\]"):
        foreground_alpha(ModelCache(tmp_path), _bright_square())


def test_whether_a_model_file_is_there_is_looked_up_once_a_while(tmp_path: Path) -> None:
    """Asked on the event loop at every render miss: a found file stays found, a missing one is
    looked for again only after `RECHECK_MISSING` seconds."""
    cache = ModelCache(tmp_path)
    assert not cache.has_user_model("tagging")
    (tmp_path / "classifier.onnx").write_bytes(b"added while running")
    assert not cache.has_user_model("tagging")  # the answer kept
    assert ModelCache(tmp_path).has_user_model("tagging")  # a new process sees it
    found = ModelCache(tmp_path)
    assert found.has_user_model("tagging")
    (tmp_path / "classifier.onnx").unlink()
    assert found.has_user_model("tagging")
