"""Every add-on parameter with a bad value is a 400 in Cloudinary's wording — on upload,
explicit and the Admin API's update — and nothing is stored (reference cloudinary-addons.md §10)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import cloudinary.api
import cloudinary.uploader
import pytest
from cloudinary.exceptions import BadRequest, NotFound
from support import LiveServer

# (parameter, bad value, upload/explicit message, update message)
BAD_VALUES = [
    ("background_removal", "illegal", "Background removal is invalid", "Illegal value"),
    ("categorization", "illegal", "Categorization item illegal is not valid", "Illegal value"),
    ("categorization", "google_tagging,illegal", "is not valid", "Illegal value"),
    ("detection", "illegal", "Detection invalid model 'illegal'", "Illegal value"),
    ("raw_convert", "illegal", "Raw convert is invalid", "Illegal value"),
    ("ocr", "illegal", "is invalid", "Illegal value"),
    ("auto_tagging", "1.5", "is not valid", "Illegal value"),
    ("face_coordinates", "1,2,3", "Invalid face_coordinates", "Illegal value"),
    ("custom_coordinates", "a,b,c,d", "Invalid custom_coordinates", "Illegal value"),
]
MODERATION_BAD = [("illegal", "Moderation illegal moderation is not valid"), ("manual|aws_rek", "Moderation manual moderation is not valid")]
NOT_SUBSCRIBED = [
    ("background_removal", "pixelz"),
    ("raw_convert", "google_speech"),
    ("categorization", "google_video_tagging"),
    ("moderation", "webpurify"),
]


def _new_id() -> str:
    return f"addons/validation-{secrets.token_hex(4)}"


def _not_stored(public_id: str) -> None:
    with pytest.raises(NotFound):
        cloudinary.api.resource(public_id)


@pytest.mark.parametrize(("name", "value", "message", "_update"), BAD_VALUES)
def test_bad_add_on_value_on_upload_is_refused_and_stores_nothing(cld_sqlite: LiveServer, coffee: Path, name: str, value: str, message: str, _update: str) -> None:
    public_id = _new_id()
    with pytest.raises(BadRequest, match=message):
        cloudinary.uploader.upload(str(coffee), public_id=public_id, **{name: value})
    _not_stored(public_id)


@pytest.mark.parametrize(("value", "message"), MODERATION_BAD)
def test_bad_moderation_is_refused_in_cloudinary_wording(cld_sqlite: LiveServer, coffee: Path, value: str, message: str) -> None:
    public_id = _new_id()
    with pytest.raises(BadRequest, match=message):
        cloudinary.uploader.upload(str(coffee), public_id=public_id, moderation=value)
    _not_stored(public_id)


@pytest.mark.parametrize(("name", "value"), NOT_SUBSCRIBED)
def test_add_on_darkroom_does_not_run_is_refused_as_not_subscribed(cld_sqlite: LiveServer, coffee: Path, name: str, value: str) -> None:
    public_id = _new_id()
    with pytest.raises(BadRequest, match="You don't have an active subscription for"):
        cloudinary.uploader.upload(str(coffee), public_id=public_id, **{name: value})
    _not_stored(public_id)


@pytest.fixture
def stored(cld_sqlite: LiveServer, coffee: Path) -> dict[str, Any]:
    return cloudinary.uploader.upload(str(coffee), public_id=_new_id(), tags=["kept"])  # type: ignore[no-any-return]


@pytest.mark.parametrize(("name", "value", "message", "_update"), BAD_VALUES)
def test_bad_add_on_value_on_explicit_is_refused_and_changes_nothing(stored: dict[str, Any], name: str, value: str, message: str, _update: str) -> None:
    with pytest.raises(BadRequest, match=message):
        cloudinary.uploader.explicit(stored["public_id"], type="upload", tags=["changed"], **{name: value})
    assert cloudinary.api.resource(stored["public_id"])["tags"] == ["kept"]


@pytest.mark.parametrize(("name", "value", "_upload", "message"), BAD_VALUES)
def test_bad_add_on_value_on_update_is_an_illegal_value(stored: dict[str, Any], name: str, value: str, _upload: str, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        cloudinary.api.update(stored["public_id"], tags=["changed"], **{name: value})
    assert cloudinary.api.resource(stored["public_id"])["tags"] == ["kept"]


def test_valid_values_with_language_and_version_suffixes_are_accepted(stored: dict[str, Any]) -> None:
    reply = cloudinary.uploader.explicit(stored["public_id"], type="upload", categorization="google_tagging:en:fr,aws_rek_tagging", auto_tagging=0.99)
    assert set(reply["info"]["categorization"]) == {"google_tagging", "aws_rek_tagging"}
