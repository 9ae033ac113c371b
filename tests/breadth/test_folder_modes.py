"""Folder modes per cloud: fixed (the public ID's path is the folder) and dynamic (the default),
through the official Python SDK on both databases; `asset_folder` checked like public IDs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cloudinary.api
import cloudinary.search
import cloudinary.uploader
import pytest
from cloudinary.exceptions import BadRequest

from darkroom.catalog.cloud_settings import set_folder_mode
from tests.breadth.conftest import AdminCloud


@pytest.fixture
def fixed(cloud: AdminCloud) -> AdminCloud:
    set_folder_mode(cloud.engine, cloud.server.cloud, "fixed")
    return cloud


def test_fixed_mode_folder_is_the_public_id_path_everywhere(fixed: AdminCloud, png: Path) -> None:
    assert cloudinary.api.config(settings=True)["settings"]["folder_mode"] == "fixed"
    uploaded = cloudinary.uploader.upload(str(png), folder="shop/shoes", public_id="red", asset_folder="ignored")
    assert uploaded["public_id"] == "shop/shoes/red" and uploaded["folder"] == "shop/shoes"
    assert "asset_folder" not in uploaded and "display_name" not in uploaded
    assert [f["path"] for f in cloudinary.api.root_folders()["folders"]] == ["shop"]
    assert [f["path"] for f in cloudinary.api.subfolders("shop")["folders"]] == ["shop/shoes"]
    found = cloudinary.search.Search().expression("folder=shop/shoes").execute()["resources"]
    assert [r["public_id"] for r in found] == ["shop/shoes/red"] and "asset_folder" not in found[0]
    listed = cloudinary.api.resources(prefix="shop/", fields="tags")["resources"]
    assert set(listed[0]) == {"public_id", "asset_id", "folder", "tags"}  # fixed mode's folder key is always returned
    # Renaming moves the folder with the public ID; the folder can't be set apart from it.
    cloudinary.uploader.rename("shop/shoes/red", "shop/bags/red")
    assert [f["path"] for f in cloudinary.api.subfolders("shop")["folders"]] == ["shop/bags"]
    with pytest.raises(BadRequest, match="fixed folder mode"):
        cloudinary.api.update("shop/bags/red", asset_folder="elsewhere")
    with pytest.raises(BadRequest, match="dynamic folder mode"):
        cloudinary.api.rename_folder("shop", "store")


def test_dynamic_mode_keeps_the_asset_folder_apart_from_the_public_id(cloud: AdminCloud, png: Path) -> None:
    assert cloudinary.api.config(settings=True)["settings"]["folder_mode"] == "dynamic"
    uploaded = cloudinary.uploader.upload(str(png), public_id="red", asset_folder="shop/shoes")
    assert uploaded["public_id"] == "red" and uploaded["asset_folder"] == "shop/shoes"
    assert [f["path"] for f in cloudinary.api.subfolders("shop")["folders"]] == ["shop/shoes"]
    found = cloudinary.search.Search().expression("asset_folder=shop/shoes").execute()["resources"]
    assert [r["public_id"] for r in found] == ["red"]
    cloudinary.api.rename_folder("shop", "store")
    assert cloudinary.api.resource("red")["asset_folder"] == "store/shoes"


@pytest.mark.parametrize("folder", ["a/../b", "../up", "a//b", "x" * 300])
def test_asset_folder_is_checked_like_a_public_id(cloud: AdminCloud, png: Path, folder: str) -> None:
    with pytest.raises(BadRequest, match="asset_folder"):
        cloudinary.uploader.upload(str(png), public_id="checked", asset_folder=folder)
    cloudinary.uploader.upload(str(png), public_id="checked")
    with pytest.raises(BadRequest, match="asset_folder"):
        cloudinary.api.update("checked", asset_folder=folder)


def test_cli_sets_a_clouds_folder_mode_and_backups(cloud: AdminCloud) -> None:
    env = {**os.environ, "DARKROOM_DATABASE_URL": cloud.server.database_url}
    done = subprocess.run([sys.executable, "-m", "darkroom", "clouds", "set", cloud.server.cloud, "--folder-mode", "fixed",
                           "--backups", "--data-dir", str(cloud.server.data_dir)], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "fixed folder mode" in done.stdout and "backups on" in done.stdout
    assert cloudinary.api.config(settings=True)["settings"]["folder_mode"] == "fixed"
