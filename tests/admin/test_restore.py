"""Restore of deleted assets: only where the cloud keeps backups (a cloud setting), both databases."""

from __future__ import annotations

from pathlib import Path

import cloudinary.api
import cloudinary.uploader
import cloudinary.utils
import httpx
import pytest
import pyvips

from darkroom.catalog.backups import set_backups
from tests.admin.conftest import AdminCloud


@pytest.fixture
def backed_up(cloud: AdminCloud) -> AdminCloud:
    set_backups(cloud.engine, cloud.server.cloud, True)
    return cloud


def _pixels(public_id: str) -> tuple[int, int, list[float]]:
    url = cloudinary.utils.cloudinary_url(public_id, format="png")[0]
    response = httpx.get(url)
    assert response.status_code == 200
    image = pyvips.Image.new_from_buffer(response.content, "")
    return image.width, image.height, list(image.getpoint(10, 10))


def test_without_backups_restore_reports_backup_not_found(cloud: AdminCloud, png: Path) -> None:
    cloudinary.uploader.upload(str(png), public_id="gone")
    cloudinary.api.delete_resources(["gone"])
    assert cloudinary.api.restore(["gone"])["gone"] == {"error": {"message": "Backup not found"}}


def test_deleted_asset_comes_back_as_a_new_version_with_its_pixels_tags_and_context(backed_up: AdminCloud, png: Path) -> None:
    first = cloudinary.uploader.upload(str(png), public_id="keep/me", tags=["a", "b"], context={"alt": "Alt"})
    before = _pixels("keep/me")
    assert cloudinary.api.delete_resources(["keep/me"])["deleted"] == {"keep/me": "deleted"}
    placeholder = cloudinary.api.resource("keep/me")  # Cloudinary's answer while a backup is kept
    assert placeholder["placeholder"] is True and placeholder["bytes"] == 0
    restored = cloudinary.api.restore(["keep/me", "never/was"])
    assert restored["never/was"] == {"error": {"message": "Backup not found"}}
    back = restored["keep/me"]
    assert back["public_id"] == "keep/me" and back["asset_id"] == first["asset_id"]
    assert back["version"] > first["version"] and back["tags"] == ["a", "b"]
    assert back["context"] == {"custom": {"alt": "Alt"}}
    assert cloudinary.api.resource("keep/me")["bytes"] == first["bytes"]
    assert _pixels("keep/me") == before
    assert cloudinary.api.restore(["keep/me"])["keep/me"] == {"error": {"message": "Backup not found"}}  # used up


def test_restore_never_overwrites_an_asset_uploaded_since(backed_up: AdminCloud, png: Path) -> None:
    cloudinary.uploader.upload(str(png), public_id="again", tags=["old"])
    cloudinary.api.delete_resources(["again"])
    cloudinary.uploader.upload(str(png), public_id="again", tags=["new"])
    assert cloudinary.api.restore(["again"])["again"] == {"error": {"message": "Resource already exists - again"}}
    assert cloudinary.api.resource("again")["tags"] == ["new"]


def test_bulk_deletes_keep_backups_and_restore_by_asset_id(backed_up: AdminCloud, png: Path) -> None:
    uploaded = cloudinary.uploader.upload(str(png), public_id="bulk/one")
    cloudinary.api.delete_resources_by_prefix("bulk/")
    restored = cloudinary.api.restore_by_asset_ids([uploaded["asset_id"]])
    assert restored[uploaded["asset_id"]]["public_id"] == "bulk/one"
    assert _pixels("bulk/one")[:2] == (64, 48)


def test_turning_backups_off_means_later_deletes_are_final(backed_up: AdminCloud, png: Path) -> None:
    set_backups(backed_up.engine, backed_up.server.cloud, False)
    cloudinary.uploader.upload(str(png), public_id="final")
    cloudinary.api.delete_resources(["final"])
    set_backups(backed_up.engine, backed_up.server.cloud, True)
    assert cloudinary.api.restore(["final"])["final"] == {"error": {"message": "Backup not found"}}


def test_download_backedup_asset_streams_that_versions_bytes_live_or_deleted(backed_up: AdminCloud, png: Path) -> None:
    first = cloudinary.uploader.upload(str(png), public_id="kept/bytes")
    url = cloudinary.utils.download_backedup_asset(first["asset_id"], first["version_id"])
    live = httpx.get(url)
    assert live.status_code == 200, live.text
    assert live.content == png.read_bytes() and live.headers["content-type"] == "image/png"
    cloudinary.api.delete_resources(["kept/bytes"])
    deleted = httpx.get(cloudinary.utils.download_backedup_asset(first["asset_id"], first["version_id"]))
    assert deleted.status_code == 200 and deleted.content == png.read_bytes()  # the deleted version's kept blob
    unknown = httpx.get(cloudinary.utils.download_backedup_asset(first["asset_id"], "0" * 32))
    assert unknown.status_code == 404 and "Backup not found" in unknown.text
    tampered = httpx.get(url.replace(f"version_id={first['version_id']}", "version_id=" + "f" * 32))
    assert tampered.status_code == 401 and "Invalid Signature" in tampered.text
    expired = httpx.get(cloudinary.utils.download_backedup_asset(first["asset_id"], first["version_id"], timestamp=1700000000))
    assert expired.status_code == 401 and "Stale request" in expired.text


def test_download_backedup_asset_needs_backups(cloud: AdminCloud, png: Path) -> None:
    first = cloudinary.uploader.upload(str(png), public_id="not/kept")
    response = httpx.get(cloudinary.utils.download_backedup_asset(first["asset_id"], first["version_id"]))
    assert response.status_code == 404 and "Backup not found" in response.text
