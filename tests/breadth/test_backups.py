"""Backups per upload (`backup=true`), `versions=true`, deleting kept versions, the placeholder of a
deleted asset and restore by version — through the official Python SDK, on both databases."""

from __future__ import annotations

from pathlib import Path

import cloudinary.api
import cloudinary.uploader
import cloudinary.utils
import httpx
import pytest
import pyvips
from cloudinary.exceptions import NotFound

from tests.breadth.conftest import AdminCloud


@pytest.fixture
def two_files(tmp_path: Path) -> tuple[Path, Path]:
    """Two PNGs of different sizes: 40×30 red and 20×50 blue."""
    red, blue = tmp_path / "red.png", tmp_path / "blue.png"
    (pyvips.Image.black(40, 30) + [255, 0, 0]).cast("uchar").write_to_file(str(red))
    (pyvips.Image.black(20, 50) + [0, 0, 255]).cast("uchar").write_to_file(str(blue))
    return red, blue


def _size(public_id: str) -> tuple[int, int]:
    response = httpx.get(cloudinary.utils.cloudinary_url(public_id, format="png")[0])
    assert response.status_code == 200
    image = pyvips.Image.new_from_buffer(response.content, "")
    return image.width, image.height


def test_backup_true_keeps_each_version_and_lists_them_newest_first(cloud: AdminCloud, two_files: tuple[Path, Path]) -> None:
    red, blue = two_files
    first = cloudinary.uploader.upload(str(red), public_id="kept", backup=True)
    second = cloudinary.uploader.upload(str(blue), public_id="kept", overwrite=True)
    versions = cloudinary.api.resource("kept", versions=True)["versions"]
    assert [v["version_id"] for v in versions] == [second["version_id"], first["version_id"]]
    assert [v["size"] for v in versions] == [second["bytes"], first["bytes"]]
    assert all(v["restorable"] is True and v["format"] == "png" and v["time"].endswith("+00:00") for v in versions)
    # Without backup=true and without the cloud setting, nothing is kept.
    cloudinary.uploader.upload(str(red), public_id="plain")
    cloudinary.uploader.upload(str(blue), public_id="plain", overwrite=True)
    assert cloudinary.api.resource("plain", versions=True)["versions"] == []


def test_restoring_a_version_of_a_live_asset_brings_its_pixels_back(cloud: AdminCloud, two_files: tuple[Path, Path]) -> None:
    red, blue = two_files
    first = cloudinary.uploader.upload(str(red), public_id="roll", backup=True)
    cloudinary.uploader.upload(str(blue), public_id="roll", overwrite=True)
    assert _size("roll") == (20, 50)
    restored = cloudinary.api.restore(["roll"], versions=[first["version_id"]])["roll"]
    assert restored["asset_id"] == first["asset_id"] and restored["bytes"] == first["bytes"]
    assert _size("roll") == (40, 30)
    assert len(cloudinary.api.resource("roll", versions=True)["versions"]) == 3  # the rolled-back one is kept too


def test_deleted_backed_up_asset_answers_a_placeholder_and_restores_by_version(cloud: AdminCloud, two_files: tuple[Path, Path]) -> None:
    red, blue = two_files
    first = cloudinary.uploader.upload(str(red), public_id="gone", backup=True, tags=["t"])
    cloudinary.uploader.upload(str(blue), public_id="gone", overwrite=True, tags=["t"])
    cloudinary.uploader.destroy("gone")
    shown = cloudinary.api.resource("gone")
    assert shown["placeholder"] is True and shown["bytes"] == 0 and shown["asset_id"] == first["asset_id"]
    assert httpx.get(cloudinary.utils.cloudinary_url("gone", format="png")[0]).status_code == 404
    back = cloudinary.api.restore(["gone"], versions=[first["version_id"]])["gone"]
    assert back["placeholder"] is False and back["bytes"] == first["bytes"]
    assert _size("gone") == (40, 30)
    with pytest.raises(NotFound):
        cloudinary.api.resource("never-there")


def test_delete_backed_up_assets_removes_chosen_versions(cloud: AdminCloud, two_files: tuple[Path, Path]) -> None:
    red, blue = two_files
    first = cloudinary.uploader.upload(str(red), public_id="trim", backup=True)
    second = cloudinary.uploader.upload(str(blue), public_id="trim", overwrite=True)
    answer = cloudinary.api.delete_backed_up_assets(first["asset_id"], [first["version_id"]])
    assert answer["asset_id"] == first["asset_id"] and answer["deleted_version_ids"] == [first["version_id"]]
    assert [v["version_id"] for v in cloudinary.api.resource("trim", versions=True)["versions"]] == [second["version_id"]]
    assert cloudinary.api.restore(["trim"], versions=[first["version_id"]])["trim"] == {"error": {"message": "Backup not found"}}
    download = cloudinary.utils.download_backedup_asset(first["asset_id"], first["version_id"])
    assert httpx.get(download).status_code == 404
    assert _size("trim") == (20, 50)
