"""The Upload API through the official SDK, against SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import base64
import hashlib
import io
import os
import re
import shutil
from pathlib import Path

import cloudinary
import cloudinary.api
import cloudinary.uploader
import cloudinary.utils
import httpx
import pytest
import pyvips
from cloudinary.exceptions import BadRequest, NotFound

from darkroom.media.integrity import sweep
from darkroom.server import build_services
from darkroom.config import Settings
from support import LiveServer

UPLOAD_FIELDS = {
    "asset_id", "public_id", "version", "version_id", "signature", "width", "height", "format", "resource_type",
    "created_at", "tags", "bytes", "type", "etag", "placeholder", "url", "secure_url", "asset_folder",
    "display_name", "original_filename", "api_key", "pages",
}


def delivery_url(public_id: str, **options: object) -> str:
    url, _ = cloudinary.utils.cloudinary_url(public_id, **options)
    return url


def test_upload_by_path_returns_every_field_and_a_verifiable_signature(cld: LiveServer, sample_png: Path) -> None:
    result = cloudinary.uploader.upload(str(sample_png), public_id="core/by-path", tags=["a", "b"], context={"alt": "My=alt", "caption": "x|y"})
    assert UPLOAD_FIELDS <= result.keys()
    assert (result["public_id"], result["format"], result["resource_type"], result["type"]) == ("core/by-path", "png", "image", "upload")
    assert (result["width"], result["height"], result["pages"]) == (120, 80, 1)
    assert result["bytes"] == sample_png.stat().st_size
    assert result["etag"] == hashlib.md5(sample_png.read_bytes()).hexdigest()
    assert result["tags"] == ["a", "b"]
    assert result["context"] == {"custom": {"alt": "My=alt", "caption": "x|y"}}
    assert result["original_filename"] == "sample"
    assert result["api_key"] == cld.api_key
    assert re.fullmatch(r"[0-9a-f]{32}", result["asset_id"]) and re.fullmatch(r"[0-9a-f]{32}", result["version_id"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", result["created_at"])
    expected = cloudinary.utils.api_sign_request({"public_id": result["public_id"], "version": result["version"]}, cld.api_secret)
    assert result["signature"] == expected
    assert result["url"] == f"http://{cld.host}/{cld.cloud}/image/upload/v{result['version']}/core/by-path.png"
    assert result["secure_url"] == "https://" + result["url"].removeprefix("http://")  # Cloudinary's pair of schemes


def test_original_is_delivered_byte_for_byte_with_cache_headers(cld: LiveServer, sample_png: Path) -> None:
    result = cloudinary.uploader.upload(str(sample_png), public_id="core/original")
    url = delivery_url("core/original", format="png", version=result["version"])
    assert url == result["url"]
    response = httpx.get(url)
    assert response.status_code == 200
    assert response.content == sample_png.read_bytes()
    assert response.headers["content-type"] == "image/png"
    assert response.headers["etag"] == f'"{result["etag"]}"'
    assert "max-age=31536000" in response.headers["cache-control"]
    assert httpx.get(url, headers={"If-None-Match": response.headers["etag"]}).status_code == 304
    head = httpx.head(url)
    assert head.status_code == 200 and head.headers["content-length"] == str(sample_png.stat().st_size)


def test_upload_from_bytes_stream_and_data_uri(cld: LiveServer, sample_png: Path) -> None:
    data = sample_png.read_bytes()
    from_stream = cloudinary.uploader.upload(io.BytesIO(data), public_id="core/stream")
    data_uri = "data:image/png;base64," + base64.b64encode(data).decode()
    from_uri = cloudinary.uploader.upload(data_uri, public_id="core/data-uri")
    for result in (from_stream, from_uri):
        assert result["format"] == "png" and result["width"] == 120
        assert httpx.get(result["url"]).content == data


def test_upload_from_url_served_on_loopback(cld: LiveServer, sample_jpg: Path, file_server: tuple[str, Path, dict[str, str]]) -> None:
    base, folder, _ = file_server
    shutil.copy(sample_jpg, folder / "remote.jpg")
    result = cloudinary.uploader.upload(f"{base}/remote.jpg", public_id="core/from-url")
    assert (result["format"], result["width"], result["height"]) == ("jpg", 200, 150)
    assert httpx.get(result["url"]).content == sample_jpg.read_bytes()


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata, link-local
        "http://127.0.0.2:9/secret",  # loopback outside the allow-list
        "http://10.1.2.3/internal",  # private range
        "ftp://example.com/file.jpg",  # no scheme but http(s)
    ],
)
def test_upload_from_private_address_is_refused_before_connecting(cld_sqlite: LiveServer, url: str) -> None:
    with pytest.raises(BadRequest):
        cloudinary.uploader.upload(url)


def test_redirect_to_a_private_address_is_refused(cld_sqlite: LiveServer, file_server: tuple[str, Path, dict[str, str]]) -> None:
    base, _, redirects = file_server
    redirects["/hop.jpg"] = "http://169.254.169.254/latest/meta-data/"
    with pytest.raises(BadRequest, match="non-public"):
        cloudinary.uploader.upload(f"{base}/hop.jpg")


def test_use_filename_and_unique_filename(cld: LiveServer, sample_png: Path) -> None:
    plain = cloudinary.uploader.upload(str(sample_png), use_filename=True, unique_filename=False, folder="named")
    assert plain["public_id"] == "named/sample"
    unique = cloudinary.uploader.upload(str(sample_png), use_filename=True, folder="named")
    assert re.fullmatch(r"named/sample_[a-z0-9]{6}", unique["public_id"])
    random_id = cloudinary.uploader.upload(str(sample_png))
    assert re.fullmatch(r"[a-z0-9]{20}", random_id["public_id"])


def test_overwrite_off_keeps_the_existing_asset_and_overwrite_bumps_the_version(cld: LiveServer, sample_png: Path, sample_jpg: Path) -> None:
    first = cloudinary.uploader.upload(str(sample_png), public_id="core/versions")
    kept = cloudinary.uploader.upload(str(sample_jpg), public_id="core/versions", overwrite=False)
    assert kept["existing"] is True and kept["version"] == first["version"] and kept["format"] == "png"
    replaced = cloudinary.uploader.upload(str(sample_jpg), public_id="core/versions", overwrite=True)
    assert replaced["version"] > first["version"] and replaced["format"] == "jpg"
    assert replaced["asset_id"] == first["asset_id"] and replaced["version_id"] != first["version_id"]
    assert httpx.get(replaced["url"]).content == sample_jpg.read_bytes()


def test_raw_files_keep_their_bytes_and_extension(cld: LiveServer, tmp_path: Path) -> None:
    document = tmp_path / "notes.txt"
    document.write_text("plain text, not an image\n")
    result = cloudinary.uploader.upload(str(document), resource_type="raw", use_filename=True, unique_filename=False)
    assert (result["public_id"], result["resource_type"]) == ("notes.txt", "raw")
    assert "format" not in result  # the extension is part of a raw public ID
    url = delivery_url("notes.txt", resource_type="raw")
    assert httpx.get(url).content == document.read_bytes()


def test_file_type_comes_from_bytes_not_name(cld_sqlite: LiveServer, sample_png: Path, tmp_path: Path) -> None:
    disguised = tmp_path / "evil.jpg"
    disguised.write_bytes(sample_png.read_bytes())
    assert cloudinary.uploader.upload(str(disguised))["format"] == "png"
    not_an_image = tmp_path / "script.png"
    not_an_image.write_text("<script>alert(1)</script>")
    with pytest.raises(BadRequest, match="Invalid image file"):
        cloudinary.uploader.upload(str(not_an_image))
    auto = cloudinary.uploader.upload(str(not_an_image), resource_type="auto")
    assert auto["resource_type"] == "raw"


@pytest.mark.parametrize("public_id", ["../escape", "a/../../b", "a//b", "tab\there", "x" * 256, "back\\slash"])
def test_dangerous_public_ids_are_refused(cld_sqlite: LiveServer, sample_png: Path, public_id: str) -> None:
    with pytest.raises(BadRequest):
        cloudinary.uploader.upload(str(sample_png), public_id=public_id)


def test_allowed_formats_refuses_other_formats(cld_sqlite: LiveServer, sample_png: Path) -> None:
    with pytest.raises(BadRequest, match="not allowed"):
        cloudinary.uploader.upload(str(sample_png), allowed_formats=["jpg", "webp"])
    assert cloudinary.uploader.upload(str(sample_png), allowed_formats=["jpg", "png"])["format"] == "png"


def test_chunked_upload_assembles_the_file(cld: LiveServer, tmp_path: Path) -> None:
    payload = bytes(range(256)) * 1200  # 307,200 bytes in 4 chunks
    path = tmp_path / "big.bin"
    path.write_bytes(payload)
    result = cloudinary.uploader.upload_large(str(path), chunk_size=100_000, use_filename=True, unique_filename=False)
    assert result["resource_type"] == "raw" and result["bytes"] == len(payload)
    assert result["public_id"] == "big.bin"
    assert httpx.get(result["url"]).content == payload


def test_chunked_image_upload(cld_sqlite: LiveServer, sample_jpg: Path) -> None:
    result = cloudinary.uploader.upload_large(str(sample_jpg), resource_type="image", chunk_size=2000, public_id="core/chunked")
    assert (result["public_id"], result["width"], result["format"]) == ("core/chunked", 200, "jpg")
    assert httpx.get(result["url"]).content == sample_jpg.read_bytes()


def test_rename_then_old_id_is_gone(cld: LiveServer, sample_png: Path) -> None:
    cloudinary.uploader.upload(str(sample_png), public_id="core/rename-from")
    renamed = cloudinary.uploader.rename("core/rename-from", "core/rename-to")
    assert renamed["public_id"] == "core/rename-to"
    assert httpx.get(delivery_url("core/rename-from", format="png")).status_code == 404
    assert httpx.get(delivery_url("core/rename-to", format="png")).content == sample_png.read_bytes()


def test_rename_onto_an_existing_id_needs_overwrite(cld: LiveServer, sample_png: Path, sample_jpg: Path) -> None:
    cloudinary.uploader.upload(str(sample_png), public_id="core/ren-a")
    cloudinary.uploader.upload(str(sample_jpg), public_id="core/ren-b")
    with pytest.raises(cloudinary.exceptions.Error, match="already exists"):
        cloudinary.uploader.rename("core/ren-a", "core/ren-b")
    cloudinary.uploader.rename("core/ren-a", "core/ren-b", overwrite=True)
    assert httpx.get(delivery_url("core/ren-b", format="png")).content == sample_png.read_bytes()


def test_rename_to_private_type_requires_signed_delivery(cld: LiveServer, sample_png: Path) -> None:
    cloudinary.uploader.upload(str(sample_png), public_id="core/to-private")
    cloudinary.uploader.rename("core/to-private", "core/now-private", to_type="private")
    assert httpx.get(delivery_url("core/now-private", format="png", type="private")).status_code == 401
    signed = delivery_url("core/now-private", format="png", type="private", sign_url=True)
    assert httpx.get(signed).content == sample_png.read_bytes()


def without_request_id(result: dict) -> dict:
    """The reply without the `request_id` the SDK copies into it from the X-Request-Id header
    (as it does with Cloudinary's), which must be there."""
    assert result.pop("request_id")
    return result


def test_destroy_then_404_with_cld_error(cld: LiveServer, sample_png: Path) -> None:
    result = cloudinary.uploader.upload(str(sample_png), public_id="core/doomed")
    assert without_request_id(cloudinary.uploader.destroy("core/doomed")) == {"result": "ok"}
    response = httpx.get(result["url"])
    assert response.status_code == 404 and response.headers["x-cld-error"]
    assert without_request_id(cloudinary.uploader.destroy("core/doomed")) == {"result": "not found"}


def test_tag_commands(cld: LiveServer, sample_png: Path) -> None:
    cloudinary.uploader.upload(str(sample_png), public_id="core/tags1", tags=["keep"])
    cloudinary.uploader.upload(str(sample_png), public_id="core/tags2")
    assert without_request_id(cloudinary.uploader.add_tag("shared", ["core/tags1", "core/tags2"])) == {"public_ids": ["core/tags1", "core/tags2"]}
    assert cloudinary.uploader.remove_tag("keep", ["core/tags1"])["public_ids"] == ["core/tags1"]
    cloudinary.uploader.replace_tag("only", ["core/tags2"])
    explicit = cloudinary.uploader.explicit("core/tags2", type="upload")
    assert explicit["tags"] == ["only"]
    cloudinary.uploader.remove_all_tags(["core/tags2"])
    assert cloudinary.uploader.explicit("core/tags2", type="upload")["tags"] == []
    assert cloudinary.uploader.explicit("core/tags1", type="upload")["tags"] == ["shared"]


def test_context_commands_and_explicit(cld: LiveServer, sample_png: Path) -> None:
    cloudinary.uploader.upload(str(sample_png), public_id="core/ctx")
    cloudinary.uploader.add_context({"alt": "a|b", "k": "v=w"}, ["core/ctx"])
    assert cloudinary.uploader.explicit("core/ctx", type="upload")["context"] == {"custom": {"alt": "a|b", "k": "v=w"}}
    cloudinary.uploader.remove_all_context(["core/ctx"])
    assert "context" not in cloudinary.uploader.explicit("core/ctx", type="upload")
    updated = cloudinary.uploader.explicit("core/ctx", type="upload", tags=["x", "y"], context={"caption": "hi"})
    assert updated["tags"] == ["x", "y"] and updated["context"] == {"custom": {"caption": "hi"}}
    with pytest.raises(NotFound):
        cloudinary.uploader.explicit("core/missing", type="upload")


def test_browsers_may_post_uploads_cross_origin(sqlite_server: LiveServer) -> None:
    url = f"{sqlite_server.base_url}/v1_1/{sqlite_server.cloud}/image/upload"
    preflight = httpx.options(url, headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 204 and preflight.headers["access-control-allow-origin"] == "*"
    refused = httpx.post(url, data={"timestamp": "1"}, headers={"Origin": "https://app.example"})
    assert refused.status_code == 400 and refused.headers["access-control-allow-origin"] == "*"
    assert "x-cld-error" in refused.headers["access-control-expose-headers"].lower()


def test_basic_auth_is_accepted_instead_of_a_signature(sqlite_server: LiveServer, sample_png: Path) -> None:
    url = f"{sqlite_server.base_url}/v1_1/{sqlite_server.cloud}/image/upload"
    files = {"file": ("b.png", sample_png.read_bytes())}
    ok = httpx.post(url, data={"public_id": "core/basic"}, files=files, auth=(sqlite_server.api_key, sqlite_server.api_secret))
    assert ok.status_code == 200 and ok.json()["public_id"] == "core/basic"
    wrong = httpx.post(url, data={"public_id": "core/basic2"}, files=files, auth=(sqlite_server.api_key, "wrong"))
    assert wrong.status_code == 401 and wrong.json()["error"]["message"] == "Invalid credentials"
    unknown = httpx.post(url, data={"public_id": "core/basic3"}, files=files, auth=("999999999999999", "wrong"))
    assert unknown.status_code == 401 and unknown.json()["error"]["message"] == "Unknown API key 999999999999999"


def test_format_and_incoming_transformation_apply_before_storing(cld: LiveServer, sample_jpg: Path) -> None:
    converted = cloudinary.uploader.upload(str(sample_jpg), public_id="core/converted", format="png")
    assert (converted["format"], converted["width"]) == ("png", 200)
    assert httpx.get(converted["url"]).content.startswith(b"\x89PNG")
    shrunk = cloudinary.uploader.upload(str(sample_jpg), public_id="core/shrunk", transformation={"width": 50, "crop": "scale"})
    assert (shrunk["format"], shrunk["width"], shrunk["height"]) == ("jpg", 50, 38)
    assert shrunk["original_filename"] == "photo"


def test_filename_override_and_display_name(cld: LiveServer, sample_png: Path) -> None:
    result = cloudinary.uploader.upload(
        str(sample_png), use_filename=True, unique_filename=False, filename_override="holiday.png", display_name="Our holiday"
    )
    assert (result["public_id"], result["original_filename"], result["display_name"]) == ("holiday", "holiday", "Our holiday")


def test_display_name_defaults_like_cloudinary_dynamic_folders(cld: LiveServer, sample_png: Path, tmp_path: Path) -> None:
    named_file = tmp_path / "Summer Trip.png"
    shutil.copy(sample_png, named_file)
    by_public_id = cloudinary.uploader.upload(str(named_file), public_id="albums/2024/beach")
    by_filename = cloudinary.uploader.upload(str(named_file), public_id="albums/2024/sea", use_filename_as_display_name=True)
    random_id = cloudinary.uploader.upload(str(named_file), use_filename_as_display_name=True)
    explicit = cloudinary.uploader.upload(str(named_file), public_id="albums/2024/dune", use_filename_as_display_name=True, display_name="Dunes")
    expected = {"albums/2024/beach": "beach", "albums/2024/sea": "Summer Trip", random_id["public_id"]: "Summer Trip", "albums/2024/dune": "Dunes"}
    for reply in (by_public_id, by_filename, random_id, explicit):
        assert reply["display_name"] == expected[reply["public_id"]]
        assert cloudinary.api.resource(reply["public_id"])["display_name"] == expected[reply["public_id"]]  # the Admin API agrees


def test_stale_spool_files_are_removed_by_the_sweep(tmp_path: Path) -> None:
    """The integrity sweep (run at start-up, on a schedule and by `darkroom fsck`; tests/cli/test_fsck.py)."""
    spool = tmp_path / "spool"
    spool.mkdir()
    stale, fresh = spool / "upload-stale", spool / "upload-fresh"
    stale.write_bytes(b"x")
    fresh.write_bytes(b"y")
    os.utime(stale, (1, 1))
    services = build_services(Settings.from_env({"DARKROOM_DATA_DIR": str(tmp_path)}))
    asyncio.run(sweep(services))
    services.engine.dispose()
    assert not stale.exists() and fresh.exists()


def test_structured_metadata_on_upload_is_validated_against_its_fields(cld: LiveServer, sample_png: Path) -> None:
    field_id = f"rating_{os.urandom(3).hex()}"
    cloudinary.api.add_metadata_field({"external_id": field_id, "type": "integer", "label": "Rating"})
    stored = cloudinary.uploader.upload(str(sample_png), public_id="core/metadata", metadata={field_id: 4})
    assert stored["metadata"] == {field_id: 4}
    with pytest.raises(BadRequest, match=field_id):
        cloudinary.uploader.upload(str(sample_png), public_id="core/metadata-bad", metadata={field_id: "four"})
    with pytest.raises(NotFound):
        cloudinary.uploader.explicit("core/metadata-bad", type="upload")


def test_large_data_uri_and_bad_eager_refused_before_storing(cld_sqlite: LiveServer, sample_jpg: Path, tmp_path: Path) -> None:
    noise = pyvips.Image.gaussnoise(800, 800).cast("uchar")
    big = noise.bandjoin([noise.rot180(), noise.fliphor()])
    path = tmp_path / "noise.png"
    big.write_to_file(str(path))
    assert path.stat().st_size > 1024 * 1024  # more than one ordinary form field may carry
    data_uri = "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()
    assert cloudinary.uploader.upload(data_uri, public_id="core/big-data-uri")["width"] == 800
    with pytest.raises(BadRequest, match="bogus"):
        cloudinary.uploader.upload(str(sample_jpg), public_id="core/bad-eager", eager=[{"crop": "bogus", "width": 10}])
    with pytest.raises(NotFound):
        cloudinary.uploader.explicit("core/bad-eager", type="upload")


@pytest.mark.parametrize("resource_type", ["image", "raw", "auto"])
def test_an_empty_file_is_refused_with_cloudinarys_wording(cld_sqlite: LiveServer, tmp_path: Path, resource_type: str) -> None:
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(BadRequest, match="^Empty file$"):
        cloudinary.uploader.upload(str(empty), public_id="empty/one", resource_type=resource_type)
    with pytest.raises(NotFound):
        cloudinary.api.resource("empty/one", resource_type="raw" if resource_type == "raw" else "image")
