"""The add-on parameters as text: what each accepts, and the wording of each refusal (pure)."""

from __future__ import annotations

import pytest

from darkroom.addons import NotSubscribed, parse_addon_params, parse_coordinates
from darkroom.errors import Invalid


@pytest.mark.parametrize(("params", "field", "expected"), [
    ({"background_removal": "cloudinary_ai:fine_edges"}, "background_removal", "cloudinary_ai:fine_edges"),
    ({"categorization": "google_tagging:en:fr, aws_rek_tagging"}, "categorization", ("google_tagging", "aws_rek_tagging")),
    ({"auto_tagging": "0.6"}, "auto_tagging", 0.6),
    ({"detection": "coco_v2,adv_face"}, "detection", ("coco_v2", "adv_face")),
    ({"ocr": "adv_ocr:document"}, "ocr", "adv_ocr:document"),
    ({"moderation": "aws_rek:explicit_nudity:0.8|manual"}, "moderation", ("aws_rek:explicit_nudity:0.8", "manual")),
    ({"face_coordinates": "1,2,3,4|5,6,7,8"}, "face_coordinates", ((1, 2, 3, 4), (5, 6, 7, 8))),
    ({"custom_coordinates": ""}, "custom_coordinates", ()),
    ({}, "custom_coordinates", None),
])
def test_valid_values_are_read(params: dict[str, str], field: str, expected: object) -> None:
    assert getattr(parse_addon_params(params, "upload"), field) == expected


@pytest.mark.parametrize(("name", "value", "upload", "update"), [
    ("detection", "coco,illegal", "Detection invalid model 'illegal'", "Illegal value for parameter detection - coco,illegal"),
    ("raw_convert", "illegal", "Raw convert is invalid", "Illegal value for parameter raw_convert - illegal"),
    ("background_removal", "cloudinary_ai:1", "Background removal is invalid", "Illegal value for parameter background_removal"),
    ("auto_tagging", "nan", "Auto tagging nan is not valid", "Illegal value for parameter auto_tagging - nan"),
    ("categorization", "google_tagging:english!", "Categorization item google_tagging:english! is not valid", "Illegal value"),
])
def test_upload_and_update_word_a_bad_value_differently(name: str, value: str, upload: str, update: str) -> None:
    with pytest.raises(Invalid, match=upload):
        parse_addon_params({name: value}, "upload")
    with pytest.raises(Invalid, match=update):
        parse_addon_params({name: value}, "update")


@pytest.mark.parametrize("value", ["manual|aws_rek", "aws_rek:explicit_nudity", "aws_rek:explicit_nudity:2", "duplicate:x:y|", "x"])
def test_malformed_moderation_chains_are_refused(value: str) -> None:
    with pytest.raises(Invalid, match="moderation is not valid"):
        parse_addon_params({"moderation": value}, "upload")


@pytest.mark.parametrize(("name", "value", "addon"), [
    ("moderation", "aws_rek|duplicate:0.9", "Duplicate Image Detection"),
    ("raw_convert", "aspose", "Aspose Document Conversion"),
    ("background_removal", "pixelz", "Pixelz"),
])
def test_known_add_ons_darkroom_does_not_run_name_the_add_on(name: str, value: str, addon: str) -> None:
    with pytest.raises(NotSubscribed, match=f"You don't have an active subscription for {addon}"):
        parse_addon_params({name: value}, "upload")


@pytest.mark.parametrize("text", ["[[1, 2, 3, 4], [5, 6, 7, 8]]", "1,2,3,4|5,6,7,8", " 1, 2, 3, 4 | 5,6,7,8 "])
def test_coordinates_in_every_encoding_the_sdks_send(text: str) -> None:
    assert parse_coordinates(text) == ((1, 2, 3, 4), (5, 6, 7, 8))
