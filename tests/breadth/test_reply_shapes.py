"""Reply shapes as Cloudinary answers them, field by field, through the official Python SDK."""

from __future__ import annotations

from pathlib import Path

import cloudinary.api
import cloudinary.search
import cloudinary.uploader
import cloudinary.utils
import httpx
import pyvips

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


def test_metadata_defaults_apply_to_new_uploads_that_leave_the_field_out(cloud: AdminCloud, png: Path) -> None:
    cloudinary.api.add_metadata_field({"type": "string", "external_id": "owner", "label": "Owner", "mandatory": True,
                                       "default_value": "studio"})
    cloudinary.api.add_metadata_field({"type": "integer", "external_id": "stars", "label": "Stars", "default_value": 3,
                                       "default_disabled": True})
    plain = cloudinary.uploader.upload(str(png), public_id="defaults/plain")
    assert plain["metadata"] == {"owner": "studio"}  # a disabled default is not applied
    chosen = cloudinary.uploader.upload(str(png), public_id="defaults/chosen", metadata={"owner": "me"})
    assert chosen["metadata"] == {"owner": "me"}
    assert cloudinary.api.resource("defaults/plain")["metadata"] == {"owner": "studio"}


def test_metadata_field_update_ignores_type_and_external_id_and_keeps_dynamic_list_flag(cloud: AdminCloud) -> None:
    created = cloudinary.api.add_metadata_field({
        "type": "set", "external_id": "colors", "label": "Colors", "allow_dynamic_list_values": True,
        "datasource": {"values": [{"external_id": "red", "value": "Red"}, {"value": "Green"}]}})
    assert created["allow_dynamic_list_values"] is True
    values = created["datasource"]["values"]
    assert values[0] == {"external_id": "red", "value": "Red", "state": "active"}
    assert set(values[1]) == {"external_id", "value", "state"} and values[1]["value"] == "Green"
    updated = cloudinary.api.update_metadata_field("colors", {"type": "string", "external_id": "other", "label": "Hues"})
    assert (updated["type"], updated["external_id"], updated["label"]) == ("set", "colors", "Hues")
    assert updated["allow_dynamic_list_values"] is True
    off = cloudinary.api.update_metadata_field("colors", {"allow_dynamic_list_values": False})
    assert off["allow_dynamic_list_values"] is False
    assert cloudinary.api.metadata_field_by_field_id("colors")["allow_dynamic_list_values"] is False
    assert cloudinary.api.update_metadata_field_datasource("colors", [{"value": "Blue"}])["values"][-1]["value"] == "Blue"


def test_text_applies_cloudinarys_defaults_for_left_out_styles(cloud: AdminCloud) -> None:
    result = cloudinary.uploader.text("Hello")  # Arial, 12 px, black, transparent, PNG, a random public ID
    assert (result["type"], result["format"]) == ("text", "png") and result["public_id"]
    assert 1 < result["height"] < 40 and result["width"] > result["height"]
    image = pyvips.Image.new_from_buffer(httpx.get(result["url"]).content, "")
    assert image.hasalpha() and image[3].min() == 0  # transparent around the text
    opaque = image[3] > 128
    assert (opaque.ifthenelse(image[0], 0)).max() < 90  # what is drawn is dark: black text


def test_a_transformation_reports_back_as_written_while_its_derivative_is_shared(cloud: AdminCloud, png: Path) -> None:
    cloudinary.api.create_transformation("small", {"crop": "scale", "width": 13})
    shown = cloudinary.api.transformation("small")
    assert shown["info"] == [{"crop": "scale", "width": 13}]  # not the canonical w_13
    uploaded = cloudinary.uploader.upload(str(png), public_id="written", eager=[{"crop": "scale", "width": 13}])
    assert uploaded["eager"][0]["transformation"] == "c_scale,w_13"
    used = cloudinary.api.transformation("c_scale,w_13")
    assert used["name"] == "c_scale,w_13" and used["info"] == [{"crop": "scale", "width": 13}]
    # Three spellings of one rendering share the one derivative eager stored.
    for spelling in ("w_13", "c_scale,w_13", "t_small"):
        assert httpx.get(cloudinary.utils.cloudinary_url("written", transformation=[{"raw_transformation": spelling}])[0]).status_code == 200
    assert len(cloudinary.api.resource("written")["derived"]) == 1
