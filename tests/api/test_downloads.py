"""`private_download_url`: the SDK's signed link to an original, private or public, with an expiry."""

from __future__ import annotations

import hashlib
import io
import secrets
import time
import zipfile
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import cloudinary.uploader
import cloudinary.utils
import httpx
import pytest
import pyvips

from support import LiveServer


def signed_query(params: dict[str, str], secret: str) -> dict[str, str]:
    """Sign `params` exactly as received (the Node SDK sends `attachment=true`)."""
    return {**params, "signature": cloudinary.utils.api_sign_request(params, secret)}


def test_private_original_downloads_as_attachment(cld: LiveServer, sample_png: Path) -> None:
    public_id = f"downloads/{secrets.token_hex(4)}"
    cloudinary.uploader.upload(str(sample_png), public_id=public_id, type="private")
    url = cloudinary.utils.private_download_url(public_id, "png", type="private", attachment=True, expires_at=int(time.time()) + 600)
    response = httpx.get(url)
    assert response.status_code == 200, response.text
    assert hashlib.sha256(response.content).digest() == hashlib.sha256(sample_png.read_bytes()).digest()
    assert response.headers["content-type"] == "image/png"
    assert response.headers["content-disposition"] == f'attachment; filename="{public_id.rsplit("/", 1)[1]}.png"'
    assert response.headers["x-content-type-options"] == "nosniff"


def test_node_style_attachment_true_verifies_as_received(cld: LiveServer, sample_png: Path) -> None:
    public_id = f"downloads/{secrets.token_hex(4)}"
    cloudinary.uploader.upload(str(sample_png), public_id=public_id)
    params = {"timestamp": str(int(time.time())), "public_id": public_id, "format": "png", "attachment": "true"}
    query = {**signed_query(params, cld.api_secret), "api_key": cld.api_key}
    response = httpx.get(f"{cld.base_url}/v1_1/{cld.cloud}/image/download?{urlencode(query)}")
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"].startswith("attachment;")


def test_raw_download_names_the_file_by_its_public_id(cld: LiveServer, tmp_path: Path) -> None:
    document = tmp_path / "notes.txt"
    document.write_bytes(b"plain words\n" * 50)
    public_id = f"downloads/{secrets.token_hex(4)}.txt"
    cloudinary.uploader.upload(str(document), public_id=public_id, resource_type="raw")
    url = cloudinary.utils.private_download_url(public_id, "", resource_type="raw")
    response = httpx.get(url)
    assert response.status_code == 200 and response.content == document.read_bytes()


@pytest.mark.parametrize("change", ["expired", "tampered", "unsigned", "missing"])
def test_bad_download_links_are_refused(cld: LiveServer, sample_png: Path, change: str) -> None:
    public_id = f"downloads/{secrets.token_hex(4)}"
    cloudinary.uploader.upload(str(sample_png), public_id=public_id, type="private")
    expires_at = int(time.time()) - 5 if change == "expired" else int(time.time()) + 600
    url = cloudinary.utils.private_download_url(public_id if change != "missing" else "downloads/none", "png", type="private", expires_at=expires_at)
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    if change == "tampered":
        query["type"] = "upload"
    if change == "unsigned":
        query.pop("signature")
    response = httpx.get(f"{parts.scheme}://{parts.netloc}{parts.path}?{urlencode(query)}")
    expected = {"expired": 401, "tampered": 401, "unsigned": 400, "missing": 404}[change]
    assert response.status_code == expected, response.text
    assert response.json()["error"]["message"]


def test_attachment_named_outside_latin1_downloads(cld: LiveServer, sample_png: Path) -> None:
    """HTTP headers are Latin-1: a name such as 写真 rides in `filename*` (it was a 500)."""
    public_id = f"downloads/写真-{secrets.token_hex(2)}"
    cloudinary.uploader.upload(str(sample_png), public_id=public_id)
    url = cloudinary.utils.private_download_url(public_id, "png", attachment=True)
    response = httpx.get(url)
    assert response.status_code == 200, response.text
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="') and "filename*=UTF-8''" + quote(public_id.rsplit("/", 1)[1] + ".png") in disposition
    derived_url, _ = cloudinary.utils.cloudinary_url(public_id, format="png", flags="attachment", width=5, crop="scale")
    derived = httpx.get(derived_url)
    assert derived.status_code == 200 and "filename*=UTF-8''" in derived.headers["content-disposition"]


def test_a_link_lives_until_its_expires_at_not_the_signature_window(cld: LiveServer, sample_png: Path) -> None:
    """`private_download_url(…, expires_at=tomorrow)` is meant to work tomorrow: the signed
    `expires_at` sets the link's life, not the hour a plain signed request has."""
    public_id = f"downloads/{secrets.token_hex(4)}"
    cloudinary.uploader.upload(str(sample_png), public_id=public_id, type="private")
    signed_two_hours_ago = str(int(time.time()) - 7200)

    def fetch(**extra: str) -> httpx.Response:
        params = {"timestamp": signed_two_hours_ago, "public_id": public_id, "format": "png", "type": "private", **extra}
        query = {**signed_query(params, cld.api_secret), "api_key": cld.api_key}
        return httpx.get(f"{cld.base_url}/v1_1/{cld.cloud}/image/download?{urlencode(query)}")

    assert fetch(expires_at=str(int(time.time()) + 600)).status_code == 200
    stale = fetch()
    assert stale.status_code == 401 and stale.json()["error"]["message"].startswith("Stale request")
    assert fetch(expires_at=str(int(time.time()) - 60)).status_code == 401


def test_zip_download_url_zips_the_tagged_assets_transformed_if_asked(cld: LiveServer, sample_png: Path, sample_jpg: Path) -> None:
    tag = f"zipped-{secrets.token_hex(4)}"
    cloudinary.uploader.upload(str(sample_png), public_id=f"{tag}/one", tags=[tag])
    cloudinary.uploader.upload(str(sample_jpg), public_id=f"{tag}/two", tags=[tag])
    cloudinary.uploader.upload(str(sample_jpg), public_id=f"{tag}/untagged")
    originals = httpx.get(cloudinary.utils.zip_download_url(tag))
    assert originals.status_code == 200, originals.text
    assert originals.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(originals.content)) as archive:
        assert sorted(archive.namelist()) == [f"{tag}/one.png", f"{tag}/two.jpg"]
        assert archive.read(f"{tag}/one.png") == sample_png.read_bytes()
    scaled = httpx.get(cloudinary.utils.zip_download_url(tag, width=20, crop="scale"))
    assert scaled.status_code == 200, scaled.text
    with zipfile.ZipFile(io.BytesIO(scaled.content)) as archive:
        assert sorted(archive.namelist()) == [f"{tag}/one.png", f"{tag}/two.jpg"]  # each in its own format
        assert all(pyvips.Image.new_from_buffer(archive.read(name), "").width == 20 for name in archive.namelist())


@pytest.mark.parametrize("change", ["expired", "tampered", "unknown tag", "bad transformation"])
def test_bad_zip_download_links_are_refused(cld: LiveServer, sample_png: Path, change: str) -> None:
    tag = f"zip-refused-{secrets.token_hex(4)}"
    cloudinary.uploader.upload(str(sample_png), public_id=tag, tags=[tag])
    options: dict[str, object] = {"transformation": {"crop": "bogus"}} if change == "bad transformation" else {}
    url = cloudinary.utils.zip_download_url("never-used" if change == "unknown tag" else tag, **options)
    if change == "expired":  # the SDK always signs now: sign an hour-old link the same way
        query = {**signed_query({"timestamp": str(int(time.time()) - 7200), "tag": tag}, cld.api_secret), "api_key": cld.api_key}
        url = f"{cld.base_url}/v1_1/{cld.cloud}/image/download_tag.zip?{urlencode(query)}"
    if change == "tampered":
        url = url.replace(f"tag={tag}", "tag=other")
    response = httpx.get(url)
    expected = {"expired": 401, "tampered": 401, "unknown tag": 404, "bad transformation": 400}[change]
    assert response.status_code == expected, response.text
    assert "error" in response.json()
