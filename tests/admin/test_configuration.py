"""Admin API configuration entities through the SDK: presets, folders, transformations, metadata fields, profiles."""

from __future__ import annotations

from pathlib import Path

import cloudinary.api
import cloudinary.exceptions
import cloudinary.uploader
import pytest
from cloudinary.exceptions import AlreadyExists, BadRequest, NotFound

from tests.admin.conftest import AdminCloud

# -- upload presets ---------------------------------------------------------------------------


def test_preset_created_by_admin_api_drives_an_unsigned_upload(cloud: AdminCloud, png: Path) -> None:
    created = cloudinary.api.create_upload_preset(
        name="gallery", unsigned=True, folder="gallery", tags=["from-preset", "x"], context={"source": "preset"},
        allowed_formats=["png", "jpg"],
    )
    assert created == {"message": "created", "name": "gallery"}
    uploaded = cloudinary.uploader.unsigned_upload(str(png), "gallery", api_key=None, api_secret=None)
    assert uploaded["public_id"].startswith("gallery/")
    assert sorted(uploaded["tags"]) == ["from-preset", "x"]
    assert uploaded["context"] == {"custom": {"source": "preset"}}


def test_preset_crud(cloud: AdminCloud) -> None:
    cloudinary.api.create_upload_preset(name="p1", folder="one", overwrite=True)
    shown = cloudinary.api.upload_preset("p1")
    assert shown["name"] == "p1" and shown["unsigned"] is False
    assert shown["settings"]["folder"] == "one" and shown["settings"]["overwrite"] is True
    assert cloudinary.api.update_upload_preset("p1", unsigned=True, tags="a,b") == {"message": "updated"}
    updated = cloudinary.api.upload_preset("p1")
    assert updated["unsigned"] is True and updated["settings"]["tags"] == "a,b" and updated["settings"]["folder"] == "one"
    assert [p["name"] for p in cloudinary.api.upload_presets()["presets"]] == ["p1"]
    with pytest.raises(AlreadyExists):
        cloudinary.api.create_upload_preset(name="p1")
    assert cloudinary.api.delete_upload_preset("p1") == {"message": "deleted"}
    with pytest.raises(NotFound):
        cloudinary.api.upload_preset("p1")


def test_preset_listing_pages(cloud: AdminCloud) -> None:
    for name in ("a", "b", "c"):
        cloudinary.api.create_upload_preset(name=name)
    first = cloudinary.api.upload_presets(max_results=2)
    assert [p["name"] for p in first["presets"]] == ["a", "b"]
    assert [p["name"] for p in cloudinary.api.upload_presets(max_results=2, next_cursor=first["next_cursor"])["presets"]] == ["c"]


def test_preset_with_broken_transformation_is_refused(cloud: AdminCloud) -> None:
    with pytest.raises(BadRequest):
        cloudinary.api.create_upload_preset(name="bad", transformation="zz_nonsense")


# -- folders ----------------------------------------------------------------------------------


def test_folders_from_assets_and_created_ones(cloud: AdminCloud, png: Path) -> None:
    cloudinary.uploader.upload(str(png), public_id="pic", asset_folder="trips/2024/june")
    assert cloudinary.api.create_folder("empty/inner") == {"success": True, "path": "empty/inner", "name": "inner"}
    root = cloudinary.api.root_folders()
    assert [(f["name"], f["path"]) for f in root["folders"]] == [("empty", "empty"), ("trips", "trips")]
    assert root["total_count"] == 2 and all(f["external_id"] for f in root["folders"])
    assert [f["path"] for f in cloudinary.api.subfolders("trips")["folders"]] == ["trips/2024"]
    assert [f["path"] for f in cloudinary.api.subfolders("trips/2024")["folders"]] == ["trips/2024/june"]
    with pytest.raises(NotFound):
        cloudinary.api.subfolders("nowhere")
    with pytest.raises(AlreadyExists):
        cloudinary.api.create_folder("trips/2024")


def test_rename_folder_moves_its_assets(cloud: AdminCloud, png: Path) -> None:
    cloudinary.uploader.upload(str(png), public_id="moved", asset_folder="old/inner")
    result = cloudinary.api.rename_folder("old", "new")
    assert result == {"from": {"name": "old", "path": "old"}, "to": {"name": "new", "path": "new"}}
    assert cloudinary.api.resource("moved")["asset_folder"] == "new/inner"
    assert [f["path"] for f in cloudinary.api.root_folders()["folders"]] == ["new"]


def test_delete_folder_refuses_when_not_empty(cloud: AdminCloud, png: Path) -> None:
    cloudinary.uploader.upload(str(png), public_id="stay", asset_folder="full")
    with pytest.raises(BadRequest, match="not empty"):
        cloudinary.api.delete_folder("full")
    cloudinary.api.create_folder("hollow/deeper")
    assert cloudinary.api.delete_folder("hollow")["deleted"] == ["hollow", "hollow/deeper"]
    with pytest.raises(NotFound):
        cloudinary.api.delete_folder("hollow")


# -- named transformations ------------------------------------------------------------------


def test_named_transformation_crud(cloud: AdminCloud) -> None:
    assert cloudinary.api.create_transformation("thumb", "w_100,c_fill") == {"message": "created"}
    listed = cloudinary.api.transformations(named=True)["transformations"]
    assert listed == [{"name": "t_thumb", "allowed_for_strict": False, "used": False, "named": True}]
    shown = cloudinary.api.transformation("t_thumb")
    assert shown["info"] == [{"crop": "fill", "width": 100}]
    assert cloudinary.api.update_transformation("thumb", allowed_for_strict=True) == {"message": "updated"}
    assert cloudinary.api.transformation("thumb")["allowed_for_strict"] is True
    with pytest.raises(AlreadyExists):
        cloudinary.api.create_transformation("thumb", "w_10")
    assert cloudinary.api.delete_transformation("thumb") == {"message": "deleted"}
    with pytest.raises(NotFound):
        cloudinary.api.transformation("t_thumb")


def test_invalid_named_transformation_is_400(cloud: AdminCloud) -> None:
    with pytest.raises(BadRequest):
        cloudinary.api.create_transformation("broken", "w_abc_def")


# -- structured metadata ----------------------------------------------------------------------


def test_metadata_fields_crud_and_datasource(cloud: AdminCloud) -> None:
    color = cloudinary.api.add_metadata_field({
        "type": "enum", "external_id": "color", "label": "Color",
        "datasource": {"values": [{"external_id": "red", "value": "Red"}, {"value": "Blue"}]},
    })
    assert color["external_id"] == "color" and color["mandatory"] is False and color["validation"] is None
    values = color["datasource"]["values"]
    assert values[0] == {"external_id": "red", "value": "Red", "state": "active"} and values[1]["external_id"]
    assert [f["external_id"] for f in cloudinary.api.list_metadata_fields()["metadata_fields"]] == ["color"]
    assert cloudinary.api.metadata_field_by_field_id("color")["label"] == "Color"
    assert cloudinary.api.update_metadata_field("color", {"label": "Colour"})["label"] == "Colour"
    updated = cloudinary.api.update_metadata_field_datasource("color", [{"external_id": "green", "value": "Green"}])
    assert [v["external_id"] for v in updated["values"]][-1] == "green"
    remaining = cloudinary.api.delete_datasource_entries("color", ["red"])
    assert "red" not in [v["external_id"] for v in remaining["values"]]
    restored = cloudinary.api.restore_metadata_field_datasource("color", ["red"])
    assert "red" in [v["external_id"] for v in restored["values"]]
    ordered = cloudinary.api.reorder_metadata_field_datasource("color", "value", "desc")
    assert [v["value"] for v in ordered["values"]] == ["Red", "Green", "Blue"]
    assert cloudinary.api.delete_metadata_field("color") == {"message": "ok"}
    with pytest.raises(NotFound):
        cloudinary.api.metadata_field_by_field_id("color")


def test_default_value_breaking_validation_is_400(cloud: AdminCloud) -> None:
    with pytest.raises(BadRequest):
        cloudinary.api.add_metadata_field({"type": "integer", "external_id": "n", "label": "N", "default_value": 1,
                                           "validation": {"type": "greater_than", "value": 5}})
    with pytest.raises(BadRequest):
        cloudinary.api.add_metadata_field({"type": "string", "label": "M", "mandatory": True})


def test_update_sets_validated_metadata(cloud: AdminCloud, png: Path) -> None:
    cloudinary.api.add_metadata_field({"type": "integer", "external_id": "rating", "label": "Rating",
                                       "validation": {"type": "less_than", "value": 6}})
    cloudinary.api.add_metadata_field({"type": "set", "external_id": "sizes", "label": "Sizes",
                                       "datasource": {"values": [{"external_id": "s", "value": "S"}, {"external_id": "m", "value": "M"}]}})
    cloudinary.uploader.upload(str(png), public_id="meta")
    result = cloudinary.api.update("meta", metadata={"rating": 4, "sizes": ["s", "m"]})
    assert result["metadata"] == {"rating": 4, "sizes": ["s", "m"]}
    with pytest.raises(BadRequest, match="rating"):
        cloudinary.api.update("meta", metadata={"rating": 9})
    with pytest.raises(BadRequest, match="sizes"):
        cloudinary.api.update("meta", metadata={"sizes": ["xl"]})
    cleared = cloudinary.api.update("meta", metadata={"rating": ""})
    assert cleared["metadata"] == {"sizes": ["s", "m"]}
    assert cloudinary.api.resources(metadata=True)["resources"][0]["metadata"] == {"sizes": ["s", "m"]}


def test_update_metadata_by_signed_upload_api_call(cloud: AdminCloud, png: Path) -> None:
    cloudinary.api.add_metadata_field({"type": "string", "external_id": "caption", "label": "Caption"})
    cloudinary.uploader.upload(str(png), public_id="m1")
    cloudinary.uploader.upload(str(png), public_id="m2")
    result = cloudinary.uploader.update_metadata({"caption": "a|b=c"}, ["m1", "m2", "missing"])
    assert result["public_ids"] == ["m1", "m2"]
    assert cloudinary.api.resource("m2")["metadata"] == {"caption": "a|b=c"}
    assert cloudinary.api.resource("m1")["metadata"] == {"caption": "a|b=c"}
    with pytest.raises(cloudinary.exceptions.Error):
        cloudinary.uploader.update_metadata({"nope": "x"}, ["m1"])
    assert cloudinary.api.resource("m1")["metadata"] == {"caption": "a|b=c"}  # a refused call changes nothing


def test_reorder_metadata_fields(cloud: AdminCloud) -> None:
    for label in ("Beta", "Alpha"):
        cloudinary.api.add_metadata_field({"type": "string", "label": label})
    fields = cloudinary.api.reorder_metadata_fields("label", "asc")["metadata_fields"]
    assert [f["label"] for f in fields] == ["Alpha", "Beta"]


# -- streaming profiles -----------------------------------------------------------------------


def test_streaming_profiles(cloud: AdminCloud) -> None:
    listed = cloudinary.api.list_streaming_profiles()["data"]
    assert {"name": "hd", "display_name": "HD (720p)", "predefined": True} in listed
    created = cloudinary.api.create_streaming_profile(
        "mine", display_name="Mine", representations=[{"crop": "limit", "width": 1200, "height": 1200, "bit_rate": "5m"}]
    )
    assert created["data"]["representations"][0]["transformation"] == [
        {"bit_rate": "5m", "crop": "limit", "height": 1200, "width": 1200}
    ]
    assert cloudinary.api.get_streaming_profile("mine")["data"]["predefined"] is False
    cloudinary.api.update_streaming_profile("mine", display_name="Renamed")
    assert cloudinary.api.get_streaming_profile("mine")["data"]["display_name"] == "Renamed"
    cloudinary.api.delete_streaming_profile("mine")
    with pytest.raises(NotFound):
        cloudinary.api.get_streaming_profile("mine")
