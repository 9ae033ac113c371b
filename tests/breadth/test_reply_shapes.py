"""Reply shapes as Cloudinary answers them, field by field, through the official Python SDK."""

from __future__ import annotations

from pathlib import Path

import cloudinary.api
import cloudinary.search
import cloudinary.uploader
import httpx

from tests.breadth.conftest import AdminCloud


def test_url_is_http_and_secure_url_https_on_every_reply(cloud: AdminCloud, png: Path) -> None:
    host = cloud.server.host
    uploaded = cloudinary.uploader.upload(str(png), public_id="shapes/urls", eager=[{"width": 10, "crop": "scale"}])
    path = f"/{cloud.server.cloud}/image/upload/v{uploaded['version']}/shapes/urls.png"
    assert (uploaded["url"], uploaded["secure_url"]) == (f"http://{host}{path}", f"https://{host}{path}")
    eager = uploaded["eager"][0]
    assert eager["url"].startswith("http://") and eager["secure_url"] == "https://" + eager["url"].removeprefix("http://")
    detail = cloudinary.api.resource("shapes/urls")
    assert (detail["url"], detail["secure_url"]) == (uploaded["url"], uploaded["secure_url"])
    listed = cloudinary.api.resources(prefix="shapes/")["resources"][0]
    assert listed["secure_url"].startswith("https://") and listed["url"].startswith("http://")
    assert httpx.get(uploaded["url"]).status_code == 200  # the http one loads from this plain-http server


def test_every_api_response_carries_a_request_id(cloud: AdminCloud, png: Path) -> None:
    uploaded = cloudinary.uploader.upload(str(png), public_id="shapes/rid")
    assert uploaded["request_id"]
    listed = cloudinary.api.resources()
    assert listed.request_id
    try:
        cloudinary.api.resource("shapes/none")
    except cloudinary.exceptions.NotFound:
        pass
    missing = httpx.get(f"{cloud.server.base_url}/v1_1/{cloud.server.cloud}/resources/image/upload/none",
                        auth=(cloud.server.api_key, cloud.server.api_secret))
    assert missing.status_code == 404 and missing.headers["x-request-id"]


def test_fields_returns_exactly_the_asked_keys_plus_the_identity_and_folder(cloud: AdminCloud, png: Path) -> None:
    cloudinary.uploader.upload(str(png), public_id="shapes/fields", tags=["t"], asset_folder="pics")
    for listed in (cloudinary.api.resources(fields="tags")["resources"],
                   cloudinary.api.resources(fields=["tags", "width"])["resources"],
                   cloudinary.api.resources_by_tag("t", fields="tags")["resources"]):
        assert set(listed[0]) >= {"public_id", "asset_id", "asset_folder", "tags"}
        assert set(listed[0]) <= {"public_id", "asset_id", "asset_folder", "tags", "width"}
        assert listed[0]["tags"] == ["t"]
    found = cloudinary.search.Search().expression("public_id=shapes/fields").fields(["tags"]).execute()["resources"]
    assert set(found[0]) == {"public_id", "asset_id", "asset_folder", "tags"}


def test_metadata_and_tags_are_present_and_empty_when_asked_for(cloud: AdminCloud, png: Path) -> None:
    cloudinary.api.add_metadata_field({"type": "string", "external_id": "note", "label": "Note"})
    cloudinary.uploader.upload(str(png), public_id="shapes/with", metadata={"note": "hello"}, tags=["x"])
    cloudinary.uploader.upload(str(png), public_id="shapes/without")
    listed = {r["public_id"]: r for r in cloudinary.api.resources(metadata=True, tags=True)["resources"]}
    assert listed["shapes/with"]["metadata"] == {"note": "hello"}
    assert listed["shapes/without"]["metadata"] == {} and listed["shapes/without"]["tags"] == []
    cloudinary.uploader.remove_all_tags(["shapes/with"])
    assert cloudinary.api.resource("shapes/with")["tags"] == []
    assert cloudinary.api.resources(tags=True, prefix="shapes/with")["resources"][0]["tags"] == []
