"""The Triggers API through the SDK, and triggers firing the cloud's webhooks."""

from __future__ import annotations

import secrets
from pathlib import Path

import cloudinary
import cloudinary.api
import cloudinary.exceptions
import cloudinary.uploader
import pytest

from support import LiveServer

from .conftest import Receiver, assert_signed


def test_triggers_are_created_listed_updated_and_deleted(sdk: LiveServer) -> None:
    uri = f"https://hooks.example.com/{secrets.token_hex(4)}"
    created = cloudinary.api.create_trigger(uri, "rename")
    assert (created["uri"], created["event_type"], created["uri_type"]) == (uri, "rename", "webhook")
    assert cloudinary.api.test_trigger(created["id"])["filter_result"] is True
    listed = cloudinary.api.triggers(event_type="rename")
    assert created["id"] in [t["id"] for t in listed["triggers"]] and listed["total"] == len(listed["triggers"])
    assert created["id"] not in [t["id"] for t in cloudinary.api.triggers(event_type="upload")["triggers"]]
    with pytest.raises(cloudinary.exceptions.Error):  # the same URL twice for one event
        cloudinary.api.create_trigger(uri, "rename")

    assert cloudinary.api.update_trigger(created["id"], uri + "/v2")["message"] == "updated"
    (found,) = [t for t in cloudinary.api.triggers()["triggers"] if t["id"] == created["id"]]
    assert found["uri"] == uri + "/v2"
    assert cloudinary.api.delete_trigger(created["id"])["message"] == "deleted"
    assert created["id"] not in [t["id"] for t in cloudinary.api.triggers()["triggers"]]
    with pytest.raises(cloudinary.exceptions.NotFound):
        cloudinary.api.delete_trigger(created["id"])


def test_a_trigger_that_is_not_a_webhook_url_is_refused(sdk: LiveServer) -> None:
    with pytest.raises(cloudinary.exceptions.BadRequest):
        cloudinary.api.create_trigger("ftp://example.com/x", "upload")


def test_triggers_fire_on_their_event_types(sdk: LiveServer, receiver: Receiver, sample_png: Path) -> None:
    on_delete, on_all = f"/trigger/{secrets.token_hex(4)}", f"/trigger/{secrets.token_hex(4)}"
    deletes = cloudinary.api.create_trigger(receiver.url(on_delete), "delete")
    every = cloudinary.api.create_trigger(receiver.url(on_all), "all")
    try:
        public_id = f"trig-{secrets.token_hex(3)}"
        cloudinary.uploader.upload(str(sample_png), public_id=public_id)
        cloudinary.uploader.destroy(public_id)
        (deleted,) = receiver.wait_for(on_delete)
        assert deleted.json["notification_type"] == "delete" and deleted.json["resources"][0]["public_id"] == public_id
        assert_signed(deleted)
        upload, delete = receiver.wait_for(on_all, 2)
        assert (upload.json["notification_type"], delete.json["notification_type"]) == ("upload", "delete")
    finally:
        cloudinary.api.delete_trigger(deletes["id"])
        cloudinary.api.delete_trigger(every["id"])
