"""The SDK's long tail: the Search builder's every method, the upload wrappers, the signing and
URL helpers of `cloudinary.utils`, and the Cloudinary features darkroom refuses — each driven
through the official Python SDK against a live server (both databases where it is cheap)."""

from __future__ import annotations

import base64
import io
import json
import secrets
import zipfile
from pathlib import Path

import cloudinary
import cloudinary.api
import cloudinary.uploader
import cloudinary.utils
import httpx
import pytest
import pyvips
from cloudinary.exceptions import NotFound
from cloudinary.search import Search
from cloudinary.search_folders import SearchFolders

from tests.admin.conftest import AdminCloud, cloud, png  # noqa: F401 - fixtures
from tests.jobs.conftest import Receiver, receiver  # noqa: F401 - the webhook receiver fixture


def _upload_tagged(tag: str, png: Path, count: int) -> list[str]:
    ids = [f"tail-{i}-{secrets.token_hex(3)}" for i in range(count)]
    for public_id in ids:
        cloudinary.uploader.upload(str(png), public_id=public_id, tags=[tag], context={"alt": public_id})
    return ids


# ---- Search: every builder method, executed and as a signed URL ----


def test_search_builder_pages_sorts_aggregates_and_selects_fields(cloud: AdminCloud, png: Path) -> None:
    ids = _upload_tagged("tail", png, 3)
    query = (Search().expression("tags=tail").sort_by("public_id", "asc").max_results(2)
             .with_field("tags").with_field("context").fields(["public_id", "tags"]).aggregate("format"))
    first = query.execute()
    assert first["total_count"] == 3
    assert [r["public_id"] for r in first["resources"]] == sorted(ids)[:2]
    assert first["resources"][0]["tags"] == ["tail"]
    assert "bytes" not in first["resources"][0]  # fields() narrowed the reply
    second = (Search().expression("tags=tail").sort_by("public_id", "asc").max_results(2)
              .next_cursor(first["next_cursor"]).execute())
    assert [r["public_id"] for r in second["resources"]] == sorted(ids)[2:]
    assert "next_cursor" not in second


def test_search_serializes_what_it_sends(cloud: AdminCloud) -> None:
    sent = {"expression": "tags=x", "max_results": 5, "sort_by": [{"created_at": "desc"}]}
    assert Search().expression("tags=x").max_results(5).sort_by("created_at", "desc").ttl(60).as_dict() == sent
    assert json.loads(Search().expression("tags=x").max_results(5).sort_by("created_at", "desc").to_json()) == sent
    # endpoint("resources") is the default path; the search runs the same through it
    assert Search().endpoint("resources").expression("tags=nothing-here").execute()["total_count"] == 0


def test_search_to_url_is_served_with_its_ttl(cloud: AdminCloud, png: Path) -> None:
    ids = _upload_tagged("urlsearch", png, 2)
    query = Search().expression("tags=urlsearch").sort_by("public_id", "asc").max_results(1).ttl(120)
    url = query.to_url()
    assert url.startswith(f"http://{cloud.server.host}/{cloud.server.cloud}/search/") and "/120/" in url
    page = httpx.get(url, timeout=30)
    assert page.status_code == 200 and page.headers["cache-control"] == "public, max-age=120"
    assert [r["public_id"] for r in page.json()["resources"]] == sorted(ids)[:1]
    rest = httpx.get(query.to_url(next_cursor=page.json()["next_cursor"]), timeout=30).json()
    assert [r["public_id"] for r in rest["resources"]] == sorted(ids)[1:]


def test_search_folders_builder(cloud: AdminCloud) -> None:
    for name in ("tail-a", "tail-b", "tail-c"):
        cloudinary.api.create_folder(name)
    query = SearchFolders().expression("name:tail*").sort_by("name", "asc").max_results(2).ttl(60)
    sent = {"expression": "name:tail*", "sort_by": [{"name": "asc"}], "max_results": 2}
    assert SearchFolders().expression("name:tail*").sort_by("name", "asc").max_results(2).as_dict() == sent
    assert json.loads(SearchFolders().expression("name:tail*").sort_by("name", "asc").max_results(2).to_json()) == sent
    first = query.execute()
    assert [f["name"] for f in first["folders"]] == ["tail-a", "tail-b"]
    second = (SearchFolders().expression("name:tail*").sort_by("name", "asc").max_results(2)
              .next_cursor(first["next_cursor"]).execute())
    assert [f["name"] for f in second["folders"]] == ["tail-c"]
    narrowed = SearchFolders().endpoint("folders").expression("name:tail-a").fields("path").with_field("tags").aggregate("format").execute()
    assert [f["path"] for f in narrowed["folders"]] == ["tail-a"]
    # The SDK's to_url leaves the endpoint out: it signs an asset search, as Cloudinary serves it.
    url = SearchFolders().expression("tags=none").to_url(ttl=60)
    assert url == Search().expression("tags=none").to_url(ttl=60)
    served = httpx.get(url, timeout=30)
    assert served.status_code == 200 and served.json()["resources"] == []
    refused = httpx.get(SearchFolders().expression("name:tail-c").to_url(), timeout=30)
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == "Invalid search expression: unknown field 'name' at position 0"


# ---- upload wrappers ----


def test_upload_image_and_upload_resource_return_servable_objects(cloud: AdminCloud, png: Path) -> None:
    image = cloudinary.uploader.upload_image(str(png), public_id=f"tail-img-{secrets.token_hex(3)}")
    assert isinstance(image, cloudinary.CloudinaryImage) and image.format == "png"
    served = httpx.get(image.build_url(width=16, crop="scale"), timeout=30)
    assert served.status_code == 200 and pyvips.Image.new_from_buffer(served.content, "").width == 16
    raw = io.BytesIO(b"plain text, kept as raw")
    raw.name = "notes.txt"
    resource = cloudinary.uploader.upload_resource(raw, resource_type="raw", public_id=f"tail-raw-{secrets.token_hex(3)}.txt")
    assert isinstance(resource, cloudinary.CloudinaryResource) and resource.resource_type == "raw"
    assert httpx.get(resource.build_url(), timeout=30).content == b"plain text, kept as raw"


def test_upload_large_part_of_one_whole_file_is_the_asset(cloud: AdminCloud, png: Path) -> None:
    public_id = f"tail-part-{secrets.token_hex(3)}"
    result = cloudinary.uploader.upload_large_part(("sample.png", png.read_bytes()), public_id=public_id, resource_type="image")
    assert result["public_id"] == public_id and (result["width"], result["height"]) == (64, 48)
    assert cloudinary.api.resource(public_id)["bytes"] == png.stat().st_size


# ---- utils: signing and URL builders darkroom answers ----


def test_sign_request_and_api_urls_post_to_darkroom(cloud: AdminCloud, png: Path) -> None:
    params = cloudinary.utils.sign_request({"timestamp": cloudinary.utils.now(), "public_id": "tail-signed"}, {})
    assert params["api_key"] == cloud.server.api_key and len(params["signature"]) == 40
    upload_url = cloudinary.utils.cloudinary_api_url("upload")
    assert upload_url == cloudinary.utils.base_api_url(["image", "upload"]) == f"{cloud.server.base_url}/v1_1/{cloud.server.cloud}/image/upload"
    reply = httpx.post(upload_url, data=params, files={"file": png.read_bytes()}, timeout=30)
    assert reply.status_code == 200 and reply.json()["public_id"] == "tail-signed"
    forged = httpx.post(upload_url, data={**params, "public_id": "tail-forged"}, files={"file": png.read_bytes()}, timeout=30)
    assert forged.status_code == 401
    tags = httpx.post(cloudinary.utils.base_api_url("image/tags"), timeout=30,
                      data=cloudinary.utils.sign_request({"timestamp": cloudinary.utils.now(), "tag": "t1", "command": "add", "public_ids": "tail-signed"}, {}))
    assert tags.status_code == 200 and tags.json()["public_ids"] == ["tail-signed"]


def test_download_urls_serve_archives(cloud: AdminCloud, png: Path) -> None:
    ids = _upload_tagged("zipped", png, 2)
    for url in (cloudinary.utils.download_zip_url(tags="zipped"),
                cloudinary.utils.cloudinary_api_download_url("generate_archive", {"tags": "zipped", "timestamp": cloudinary.utils.now()})):
        assert url.startswith(f"{cloud.server.base_url}/v1_1/{cloud.server.cloud}/image/generate_archive?")
        served = httpx.get(url, timeout=30)
        assert served.status_code == 200
        assert sorted(zipfile.ZipFile(io.BytesIO(served.content)).namelist()) == sorted(f"{i}.png" for i in ids)
    # The low-level builder signs what it is given: without a timestamp the request is refused.
    stale = httpx.get(cloudinary.utils.cloudinary_api_download_url("generate_archive", {"tags": "zipped"}), timeout=30)
    assert stale.status_code == 400 and stale.json()["error"]["message"] == "Missing required parameter - timestamp"


def test_scaled_url_serves_the_width(cloud: AdminCloud, png: Path) -> None:
    cloudinary.uploader.upload(str(png), public_id="tail-scaled")
    url = cloudinary.utils.cloudinary_scaled_url("tail-scaled", 40, {}, {"format": "png"})
    assert "c_scale,w_40" in url
    served = httpx.get(url, timeout=30)
    assert served.status_code == 200 and pyvips.Image.new_from_buffer(served.content, "").width == 40


def test_upload_reply_and_preloaded_string_verify(cloud: AdminCloud, png: Path) -> None:
    reply = cloudinary.uploader.upload(str(png), public_id=f"tail-verified-{secrets.token_hex(3)}")
    assert cloudinary.utils.verify_api_response_signature(reply["public_id"], reply["version"], reply["signature"])
    assert not cloudinary.utils.verify_api_response_signature(reply["public_id"], reply["version"] + 1, reply["signature"])
    preloaded = cloudinary.utils.signed_preloaded_image(reply)
    path, _, signature = preloaded.partition("#")
    assert path == f"image/upload/v{reply['version']}/{reply['public_id']}.png" and signature == reply["signature"]
    prefix = cloudinary.utils.unsigned_download_url_prefix(reply["public_id"], cloud.server.cloud, False, False, None, cloud.server.host, False, None)
    assert prefix == f"http://{cloud.server.host}/{cloud.server.cloud}"
    assert httpx.get(f"{prefix}/{path}", timeout=30).status_code == 200


def test_a_webhook_verifies_as_an_sdk_message(cloud: AdminCloud, receiver: Receiver, png: Path) -> None:  # noqa: F811
    path = f"/tail/{secrets.token_hex(4)}"
    cloudinary.uploader.upload(str(png), public_id="tail-hooked", notification_url=receiver.url(path))
    (delivery,) = receiver.wait_for(path)
    message = {
        "signed_payload": base64.urlsafe_b64encode(delivery.body.encode()).decode().rstrip("="),
        "timestamp": delivery.headers["x-cld-timestamp"],
        "signature": delivery.headers["x-cld-signature"],
    }
    assert cloudinary.utils.verify_notification(message)
    tampered = {**message, "signed_payload": base64.urlsafe_b64encode(delivery.body.replace("tail", "tale", 1).encode()).decode()}
    assert not cloudinary.utils.verify_notification(tampered)


def test_token_delivery_auth_is_not_accepted(cloud: AdminCloud, png: Path) -> None:
    """darkroom serves `authenticated` assets by URL signature only: a `__cld_token__` is ignored."""
    cloudinary.uploader.upload(str(png), public_id="tail-private", type="authenticated")
    token = cloudinary.utils.generate_auth_token(key="00112233445566778899aabbccddeeff", duration=300, acl="/image/authenticated/*")
    assert token.startswith("__cld_token__=exp=") and "~hmac=" in token
    unsigned = cloudinary.utils.cloudinary_url("tail-private", type="authenticated", format="png")[0]
    refused = httpx.get(f"{unsigned}?{token}", timeout=30)
    assert refused.status_code == 401 and refused.headers["x-cld-error"] == "Signature required for this resource"
    signed = cloudinary.utils.cloudinary_url("tail-private", type="authenticated", format="png", sign_url=True)[0]
    assert httpx.get(signed, timeout=30).status_code == 200


# ---- features darkroom does not have: refused in Cloudinary's error shape ----


def test_analyze_notifications_and_slideshows_are_refused(cloud: AdminCloud) -> None:
    with pytest.raises(NotFound, match="The Analyze API is not supported by darkroom"):
        cloudinary.api.analyze("uri", "captioning", uri="https://example.com/a.jpg")
    with pytest.raises(NotFound, match="The notifications buffer is not supported by darkroom"):
        cloudinary.api.notifications(channel="uploads")
    with pytest.raises(NotFound, match="The notifications buffer is not supported by darkroom"):
        cloudinary.api.ack_notifications("handle")
    with pytest.raises(NotFound, match="create_slideshow is not supported by darkroom"):
        cloudinary.uploader.create_slideshow(manifest_json={"w": 64, "h": 48, "du": 2, "vars": {"slides": []}})
