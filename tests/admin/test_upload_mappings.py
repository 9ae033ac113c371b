"""The Upload Mappings API (`/upload_mappings`) through the official SDKs, on both databases.

Python sends JSON bodies (DELETE included), Node form-encoded ones (reference breadth §1, §3);
replies are Cloudinary's `{"message": …}` and `{"folder", "template"}` shapes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import cloudinary.api
import pytest
from cloudinary.exceptions import AlreadyExists, BadRequest, NotFound

from tests.admin.conftest import AdminCloud

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
NODE = shutil.which("node")


def test_mapping_crud(cloud: AdminCloud) -> None:
    created = cloudinary.api.create_upload_mapping("wiki", template="https://upload.wikimedia.org/wikipedia/")
    assert created == {"message": "created"}
    assert cloudinary.api.upload_mapping("wiki") == {"folder": "wiki", "template": "https://upload.wikimedia.org/wikipedia/"}
    with pytest.raises(AlreadyExists):
        cloudinary.api.create_upload_mapping("wiki", template="https://elsewhere.example/")

    assert cloudinary.api.update_upload_mapping("wiki", template="https://mirror.example/w/") == {"message": "updated"}
    assert cloudinary.api.upload_mapping("wiki")["template"] == "https://mirror.example/w/"
    assert cloudinary.api.upload_mappings()["mappings"] == [{"folder": "wiki", "template": "https://mirror.example/w/"}]

    assert cloudinary.api.delete_upload_mapping("wiki") == {"message": "deleted"}
    with pytest.raises(NotFound):
        cloudinary.api.upload_mapping("wiki")
    with pytest.raises(NotFound):
        cloudinary.api.delete_upload_mapping("wiki")
    with pytest.raises(NotFound):
        cloudinary.api.update_upload_mapping("wiki", template="https://mirror.example/")
    assert cloudinary.api.upload_mappings()["mappings"] == []


def test_mapping_listing_pages_in_folder_order(cloud: AdminCloud) -> None:
    for folder in ("c", "a/deep", "b"):
        cloudinary.api.create_upload_mapping(folder, template=f"https://origin.example/{folder}/")
    first = cloudinary.api.upload_mappings(max_results=2)
    assert [m["folder"] for m in first["mappings"]] == ["a/deep", "b"]
    rest = cloudinary.api.upload_mappings(max_results=2, next_cursor=first["next_cursor"])
    assert rest["mappings"] == [{"folder": "c", "template": "https://origin.example/c/"}]
    assert "next_cursor" not in rest


@pytest.mark.parametrize(
    ("template", "wording"),
    [
        ("s3://my-bucket/images/", "s3:// upload mappings are not supported here"),
        ("gs://my-bucket/images/", "gs:// upload mappings are not supported here"),
        ("ftp://origin.example/", "expected an http"),
        ("not a url", "expected an http"),
        ("https:///no-host", "expected an http"),
    ],
)
def test_template_must_be_an_http_url(cloud: AdminCloud, template: str, wording: str) -> None:
    with pytest.raises(BadRequest, match=wording):
        cloudinary.api.create_upload_mapping("media", template=template)
    cloudinary.api.create_upload_mapping("media", template="http://origin.example/")
    with pytest.raises(BadRequest, match=wording):
        cloudinary.api.update_upload_mapping("media", template=template)
    assert cloudinary.api.upload_mapping("media")["template"] == "http://origin.example/"


@pytest.mark.parametrize("folder", ["a/../b", "..", "a//b", "./a", "x" * 256, "tab\there"])
def test_folder_is_validated_like_a_public_id_folder(cloud: AdminCloud, folder: str) -> None:
    with pytest.raises(BadRequest, match="folder"):
        cloudinary.api.create_upload_mapping(folder, template="https://origin.example/")
    assert cloudinary.api.upload_mappings()["mappings"] == []


def test_folder_and_template_are_required(cloud: AdminCloud) -> None:
    with pytest.raises(BadRequest, match="template"):
        cloudinary.api.create_upload_mapping("media")
    with pytest.raises(BadRequest, match="folder"):
        cloudinary.api.create_upload_mapping("", template="https://origin.example/")


def test_a_folder_is_stored_without_its_outer_slashes(cloud: AdminCloud) -> None:
    cloudinary.api.create_upload_mapping("/media/old/", template="https://origin.example/")
    assert cloudinary.api.upload_mapping("media/old") == {"folder": "media/old", "template": "https://origin.example/"}


@pytest.mark.skipif(NODE is None, reason="node is not installed (apt-get install nodejs npm)")
def test_node_sdk_mapping_calls_sent_form_encoded_work(cloud: AdminCloud) -> None:
    if not (NODE_DIR / "node_modules" / "cloudinary").is_dir():
        pytest.fail("the Node SDK is not installed: run `npm install` in tests/node (.ci/run does)")
    assert NODE is not None
    done = subprocess.run(
        [NODE, str(NODE_DIR / "upload_mappings.mjs"), "legacy/photos", "https://origin.example/p/", "https://mirror.example/p/"],
        env=cloud.server.env(), cwd=NODE_DIR, capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr
    calls = json.loads(done.stdout)
    assert calls["create_upload_mapping"]["message"] == "created"
    assert calls["update_upload_mapping"]["message"] == "updated"
    assert (calls["upload_mapping"]["folder"], calls["upload_mapping"]["template"]) == ("legacy/photos", "https://mirror.example/p/")
    assert [m["folder"] for m in calls["upload_mappings"]["mappings"]] == ["legacy/photos"]
    assert calls["delete_upload_mapping"]["message"] == "deleted"
    assert "not found" in calls["after_delete"]["error"]
