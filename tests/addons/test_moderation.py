"""Moderation: `manual` pending until `update(moderation_status=…)`, `aws_rek` answered by
nudenet's shipped detector, chains, the `moderation` array, listings by kind and status, and
a cloud setting that hides rejected assets (reference cloudinary-addons.md §4)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cloudinary
import cloudinary.api
import cloudinary.exceptions
import cloudinary.uploader
import httpx
import numpy as np
import pytest
from PIL import Image
from support import LiveServer

from darkroom.addons import ModelCache
from darkroom.addons.moderation import moderate
from darkroom import catalog
from darkroom.catalog.cloud_settings import set_cloud_setting
from darkroom.catalog.moderation import HIDE_REJECTED

from addons.support_addons import new_id, url_for
from jobs.conftest import Receiver, receiver  # noqa: F401 - the webhook receiver fixture, reused


def _listed(kind: str, status: str) -> set[str]:
    found = cloudinary.api.resources_by_moderation(kind, status, max_results=500)
    return {item["public_id"] for item in found["resources"]}


def test_manual_moderation_stays_pending_until_updated(cld: LiveServer, coffee: Path) -> None:
    reply = cloudinary.uploader.upload(str(coffee), public_id=new_id("manual"), moderation="manual")
    public_id = reply["public_id"]
    assert reply["moderation"] == [{"kind": "manual", "status": "pending"}]
    assert public_id in _listed("manual", "pending")
    assert public_id not in _listed("manual", "approved")

    updated = cloudinary.api.update(public_id, moderation_status="approved")
    assert updated["moderation"][0]["kind"] == "manual"
    assert updated["moderation"][0]["status"] == "approved"
    assert public_id in _listed("manual", "approved")
    assert public_id not in _listed("manual", "pending")


def test_aws_rek_approves_a_benign_photograph(cld: LiveServer, astronaut: Path) -> None:
    reply = cloudinary.uploader.upload(str(astronaut), public_id=new_id("aws-rek"), moderation="aws_rek")
    [entry] = reply["moderation"]
    assert entry["kind"] == "aws_rek"
    assert entry["status"] == "approved"
    assert isinstance(entry["response"]["moderation_labels"], list)
    assert reply["public_id"] in _listed("aws_rek", "approved")


def test_chained_moderation_runs_in_order_and_waits_for_the_human(cld: LiveServer, coffee: Path) -> None:
    reply = cloudinary.uploader.upload(str(coffee), public_id=new_id("chain"), moderation="aws_rek|manual")
    assert [(m["kind"], m["status"]) for m in reply["moderation"]] == [("aws_rek", "approved"), ("manual", "pending")]
    details = cloudinary.api.resource(reply["public_id"])
    assert details["moderation_status"] == "pending"
    assert reply["public_id"] in _listed("aws_rek", "approved")
    assert reply["public_id"] in _listed("manual", "pending")
    final = cloudinary.api.update(reply["public_id"], moderation_status="rejected")
    assert [(m["kind"], m["status"]) for m in final["moderation"]] == [("aws_rek", "approved"), ("manual", "rejected")]


def test_listings_with_moderations_show_the_array(cld: LiveServer, coffee: Path) -> None:
    public_id = cloudinary.uploader.upload(str(coffee), public_id=new_id("listed"), moderation="manual")["public_id"]
    found = cloudinary.api.resources_by_moderation("manual", "pending", moderations=True, max_results=500)
    [item] = [r for r in found["resources"] if r["public_id"] == public_id]
    assert item["moderation"] == [{"kind": "manual", "status": "pending"}]


def test_rejected_assets_are_undeliverable_only_where_the_cloud_says_so(cld_sqlite: LiveServer, coffee: Path) -> None:
    public_id = cloudinary.uploader.upload(str(coffee), public_id=new_id("hidden"), moderation="manual")["public_id"]
    cloudinary.api.update(public_id, moderation_status="rejected")
    assert httpx.get(url_for(public_id, format="png", width=50, crop="scale")).status_code == 200  # Cloudinary's default
    engine = catalog.create_engine_for(cld_sqlite.database_url)
    try:
        set_cloud_setting(engine, cld_sqlite.cloud, HIDE_REJECTED, True)
        hidden = httpx.get(url_for(public_id, format="png", width=60, crop="scale"))
        assert hidden.status_code == 404
        assert hidden.headers["x-cld-error"]
        cloudinary.api.update(public_id, moderation_status="approved")
        assert httpx.get(url_for(public_id, format="png", width=60, crop="scale")).status_code == 200
    finally:
        set_cloud_setting(engine, cld_sqlite.cloud, HIDE_REJECTED, None)
        engine.dispose()


class _Detections:
    """nudenet's answer for an image, given: the real detector finds nothing to reject in the
    benign photographs a test may ship, so the label mapping and thresholds are fed its output."""

    def __init__(self, found: list[dict[str, Any]]) -> None:
        self.found = found

    def detect(self, _image: np.ndarray) -> list[dict[str, Any]]:
        return self.found


def _cache_answering(found: list[dict[str, Any]]) -> ModelCache:
    cache = ModelCache(None)
    cache.get("nudenet", lambda: _Detections(found))
    return cache


PIXELS = np.zeros((8, 8, 3), dtype=np.uint8)


def test_nudenet_classes_become_rekognition_labels_with_parents() -> None:
    verdict = moderate(_cache_answering([{"class": "BELLY_EXPOSED", "score": 0.7, "box": [0, 0, 1, 1]},
                                         {"class": "FACE_FEMALE", "score": 0.9, "box": [0, 0, 1, 1]}]), PIXELS)
    assert verdict.labels == [
        {"confidence": 0.7, "name": "Revealing Clothes", "parent_name": "Suggestive"},
        {"confidence": 0.7, "name": "Suggestive", "parent_name": ""},
    ]
    assert verdict.status == "rejected"


@pytest.mark.parametrize(("kind", "status"), [
    ("aws_rek", "rejected"),
    ("aws_rek:suggestive:0.8", "approved"),
    ("aws_rek:suggestive:0", "approved"),
    ("aws_rek:revealing_clothes:0.6", "rejected"),
])
def test_category_thresholds_decide_the_verdict(kind: str, status: str) -> None:
    cache = _cache_answering([{"class": "BELLY_EXPOSED", "score": 0.7, "box": [0, 0, 1, 1]}])
    assert moderate(cache, PIXELS, kind).status == status


def test_nudenets_shipped_detector_runs_offline_on_a_portrait(astronaut: Path) -> None:
    import pyvips

    rgb = pyvips.Image.new_from_file(str(astronaut)).numpy()
    verdict = moderate(ModelCache(None), rgb)
    assert verdict.status == "approved"


def test_search_finds_assets_by_moderation_kind(cld: LiveServer, coffee: Path) -> None:
    tag = new_id("search").rsplit("-", 1)[-1]
    public_id = cloudinary.uploader.upload(str(coffee), public_id=new_id("search"), moderation="aws_rek", tags=[tag])["public_id"]
    found = cloudinary.Search().expression(f"tags={tag} AND moderation_kind:aws_rek").execute()
    assert [r["public_id"] for r in found["resources"]] == [public_id]
    assert cloudinary.Search().expression(f"tags={tag} AND moderation_kind:manual").execute()["total_count"] == 0


def test_manual_moderation_of_a_raw_file_needs_no_pixels(cld_sqlite: LiveServer, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("to be reviewed\n")
    reply = cloudinary.uploader.upload(str(notes), resource_type="raw", public_id=new_id("raw-manual"), moderation="manual")
    assert reply["moderation"] == [{"kind": "manual", "status": "pending"}]
    with pytest.raises(cloudinary.exceptions.BadRequest, match="available for images only"):
        cloudinary.uploader.upload(str(notes), resource_type="raw", public_id=new_id("raw-rek"), moderation="aws_rek")


def test_explicit_adds_a_moderation_to_a_stored_asset(cld_sqlite: LiveServer, coffee: Path) -> None:
    public_id = cloudinary.uploader.upload(str(coffee), public_id=new_id("explicit"))["public_id"]
    reply = cloudinary.uploader.explicit(public_id, type="upload", moderation="aws_rek|manual")
    assert [(m["kind"], m["status"]) for m in reply["moderation"]] == [("aws_rek", "approved"), ("manual", "pending")]
    assert public_id in _listed("manual", "pending")


def test_an_upload_preset_can_ask_for_moderation(cld_sqlite: LiveServer, coffee: Path) -> None:
    preset = new_id("preset").replace("/", "-")
    cloudinary.api.create_upload_preset(name=preset, unsigned=True, moderation="manual")
    reply = cloudinary.uploader.unsigned_upload(str(coffee), preset)
    assert reply["moderation"] == [{"kind": "manual", "status": "pending"}]


def test_moderation_webhooks_follow_each_verdict(cld_sqlite: LiveServer, receiver: Receiver, coffee: Path) -> None:
    path = f"/moderation-{new_id('hook').rsplit('-', 1)[-1]}"
    reply = cloudinary.uploader.upload(str(coffee), public_id=new_id("hooked"), moderation="aws_rek|manual", notification_url=receiver.url(path))
    automatic = [d.json for d in receiver.wait_for(path, count=2) if d.json["notification_type"] == "moderation"]
    assert [(b["moderation_kind"], b["moderation_status"]) for b in automatic] == [("aws_rek", "approved")]
    assert automatic[0]["public_id"] == reply["public_id"] and automatic[0]["moderation_response"]["moderation_labels"] == []
    cloudinary.api.update(reply["public_id"], moderation_status="approved", notification_url=receiver.url(path))
    manual = [d.json for d in receiver.wait_for(path, count=3) if d.json["notification_type"] == "moderation"][-1]
    assert (manual["moderation_kind"], manual["moderation_status"]) == ("manual", "approved")


def test_aws_rek_moderates_an_image_libvips_cannot_read(cld_sqlite: LiveServer, coffee: Path, tmp_path: Path) -> None:
    """A BMP is an image darkroom decodes itself (`imaging.foreign`): moderated like a JPEG."""
    bmp = tmp_path / "coffee.bmp"
    Image.open(coffee).save(bmp)
    reply = cloudinary.uploader.upload(str(bmp), public_id=new_id("bmp-rek"), moderation="aws_rek")
    assert reply["format"] == "bmp"
    assert reply["moderation"][0]["kind"] == "aws_rek"
    assert reply["moderation"][0]["status"] == "approved"
