"""Auto-tagging (`categorization` + `auto_tagging`), detection (`detection=…`, `g_<object>`),
`e_upscale` and the enhancers, with and without the operator's models
(reference cloudinary-addons.md §3, §6, §7)."""

from __future__ import annotations

from pathlib import Path

import cloudinary.api
import cloudinary.uploader
import numpy as np
import pytest
from cloudinary.exceptions import BadRequest
from support import LiveServer

from addons.support_addons import fetch, new_id, rendered


def test_built_in_tags_need_no_model(cld_sqlite: LiveServer, astronaut: Path) -> None:
    reply = cloudinary.uploader.upload(str(astronaut), public_id=new_id("builtin-tags"), categorization="aws_rek_tagging", auto_tagging=0.5)
    block = reply["info"]["categorization"]["aws_rek_tagging"]
    assert block["status"] == "complete"
    tags = {item["tag"]: item["confidence"] for item in block["data"]}
    assert tags["person"] >= 0.5  # her face was found
    assert all(0 <= confidence <= 1 for confidence in tags.values())
    assert "person" in reply["tags"]
    assert set(reply["tags"]) == {tag for tag, confidence in tags.items() if confidence >= 0.5}


def test_categorization_without_auto_tagging_adds_no_tags(cld_sqlite: LiveServer, coffee: Path) -> None:
    reply = cloudinary.uploader.upload(str(coffee), public_id=new_id("no-auto"), categorization="google_tagging", tags=["mine"])
    assert reply["tags"] == ["mine"]
    assert reply["info"]["categorization"]["google_tagging"]["data"]


def test_classifier_tags_are_added_above_the_threshold(with_models: LiveServer, coffee: Path) -> None:
    reply = cloudinary.uploader.upload(str(coffee), public_id=new_id("classified"), categorization="google_tagging,imagga_tagging", auto_tagging=0.4)
    for kind in ("google_tagging", "imagga_tagging"):
        data = reply["info"]["categorization"][kind]["data"]
        assert data[0]["tag"] == "red"  # the tiny classifier's answer for a warm photograph
    assert "red" in reply["tags"]


def test_auto_tagging_through_update(with_models: LiveServer, coffee: Path) -> None:
    public_id = cloudinary.uploader.upload(str(coffee), public_id=new_id("update-tags"), tags=["mine"])["public_id"]
    reply = cloudinary.api.update(public_id, categorization="google_tagging", auto_tagging="0.4")
    assert reply["info"]["categorization"]["google_tagging"]["status"] == "complete"
    assert {"mine", "red"} <= set(cloudinary.api.resource(public_id)["tags"])


def test_detection_reports_objects_in_cloudinarys_shape(with_models: LiveServer, coffee: Path) -> None:
    reply = cloudinary.uploader.upload(str(coffee), public_id=new_id("detected"), detection="coco_v2")
    block = reply["info"]["detection"]["object_detection"]
    assert block["status"] == "complete"
    [dog] = block["data"]["coco_v2"]["tags"]["dog"]
    assert dog["confidence"] == pytest.approx(0.9)
    x, y, w, h = dog["bounding-box"]
    assert (x, y) == (75, 75) and w == h == 300  # the fixed box of the 64-px input, on the 600-px photo


def test_detection_without_a_detector_is_a_clear_400(cld_sqlite: LiveServer, coffee: Path) -> None:
    with pytest.raises(BadRequest, match="detector.onnx"):
        cloudinary.uploader.upload(str(coffee), public_id=new_id("no-detector"), detection="coco")


def test_adv_face_detection_uses_the_face_detector(cld_sqlite: LiveServer, astronaut: Path) -> None:
    reply = cloudinary.uploader.upload(str(astronaut), public_id=new_id("adv-face"), detection="adv_face")
    [face, *_] = reply["info"]["detection"]["adv_face"]["data"]
    box = face["bounding_box"]
    assert 150 < box["left"] + box["width"] / 2 < 300


def test_object_gravity_centres_on_the_detected_object(with_models: LiveServer, coffee: Path) -> None:
    public_id = cloudinary.uploader.upload(str(coffee), public_id=new_id("g-dog"))["public_id"]
    dog = rendered(public_id, crop="crop", width=100, height=100, gravity="dog", format="png")
    original = rendered(public_id, format="png")
    # Centred on the box (75, 75, 300, 300), give or take the detector's preview rounding.
    closest = min(np.abs(dog - original[175 + dy : 275 + dy, 175 + dx : 275 + dx]).mean() for dy in range(-3, 4) for dx in range(-3, 4))
    assert closest < 3


def test_object_gravity_without_a_detector_is_a_400(cld_sqlite: LiveServer, coffee: Path) -> None:
    public_id = cloudinary.uploader.upload(str(coffee), public_id=new_id("g-dog-none"))["public_id"]
    response = fetch(public_id, crop="fill", width=100, height=100, gravity="dog", format="png")
    assert response.status_code == 400 and "detector.onnx" in response.headers["x-cld-error"]
    assert fetch(public_id, crop="fill", width=100, height=100, gravity="auto:dog", format="png").status_code == 200


def test_upscale_with_a_model_grows_the_image(with_models: LiveServer, coffee: Path) -> None:
    public_id = cloudinary.uploader.upload(str(coffee), public_id=new_id("upscale"))["public_id"]
    assert rendered(public_id, effect="upscale", format="png").shape[:2] == (800, 1200)


def test_upscale_without_a_model_is_a_400(cld_sqlite: LiveServer, coffee: Path) -> None:
    public_id = cloudinary.uploader.upload(str(coffee), public_id=new_id("no-upscale"))["public_id"]
    response = fetch(public_id, effect="upscale", format="png")
    assert response.status_code == 400 and "upscale.onnx" in response.headers["x-cld-error"]


@pytest.mark.parametrize("effect", ["enhance", "viesus_correct"])
def test_vendor_enhancers_are_the_classical_enhancer(cld_sqlite: LiveServer, coffee: Path, effect: str) -> None:
    public_id = cloudinary.uploader.upload(str(coffee), public_id=new_id(effect.replace("_", "-")))["public_id"]
    assert np.array_equal(rendered(public_id, effect=effect, format="png"), rendered(public_id, effect="improve", format="png"))
