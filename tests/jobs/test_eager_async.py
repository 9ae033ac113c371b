"""eager_async: the reply lists pending renders at once; a job renders them and notifies."""

from __future__ import annotations

import secrets
from pathlib import Path

import cloudinary
import cloudinary.api
import cloudinary.uploader
import httpx
import pytest

from support import LiveServer

from .conftest import Receiver, assert_signed


def test_upload_with_eager_async_answers_pending_then_notifies_the_renders(sdk: LiveServer, receiver: Receiver, sample_png: Path) -> None:
    path = f"/eager/{secrets.token_hex(4)}"
    reply = cloudinary.uploader.upload(
        str(sample_png), public_id=f"async-{secrets.token_hex(3)}", eager="c_scale,w_40|w_30/webp",
        eager_async=True, eager_notification_url=receiver.url(path),
    )
    pending = reply["eager"]
    assert [entry["status"] for entry in pending] == ["pending", "pending"]
    assert pending[0]["batch_id"] == pending[1]["batch_id"] and len(pending[0]["batch_id"]) >= 32
    assert [entry["transformation"] for entry in pending] == ["c_scale,w_40", "w_30/webp"]

    (delivery,) = receiver.wait_for(path)
    assert_signed(delivery)
    body = delivery.json
    assert body["notification_type"] == "eager" and body["batch_id"] == pending[0]["batch_id"]
    assert body["public_id"] == reply["public_id"] and body["asset_id"] == reply["asset_id"]
    done = body["eager"]
    assert [(e["transformation"], e["width"], e["format"]) for e in done] == [("c_scale,w_40", 40, "png"), ("w_30/webp", 30, "webp")]
    assert [e["secure_url"] for e in done] == [e["secure_url"] for e in pending]
    rendered = httpx.get(done[1]["url"], timeout=10)
    assert rendered.status_code == 200 and rendered.headers["content-type"] == "image/webp"


def test_explicit_with_eager_async_renders_in_a_job(sdk: LiveServer, receiver: Receiver, sample_png: Path) -> None:
    path = f"/explicit/{secrets.token_hex(4)}"
    public_id = f"explicit-{secrets.token_hex(3)}"
    cloudinary.uploader.upload(str(sample_png), public_id=public_id)
    reply = cloudinary.uploader.explicit(public_id, type="upload", eager="w_20", eager_async=True, eager_notification_url=receiver.url(path))
    assert reply["eager"][0]["status"] == "pending"
    (delivery,) = receiver.wait_for(path)
    assert delivery.json["notification_type"] == "eager"
    assert delivery.json["eager"][0]["width"] == 20


def test_a_bad_eager_async_transformation_stores_nothing(sdk: LiveServer, sample_png: Path) -> None:
    public_id = f"bad-{secrets.token_hex(3)}"
    with pytest.raises(cloudinary.exceptions.Error):
        cloudinary.uploader.upload(str(sample_png), public_id=public_id, eager="w_nope", eager_async=True)
    with pytest.raises(cloudinary.exceptions.NotFound):
        cloudinary.api.resource(public_id)
