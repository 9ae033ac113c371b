"""Archives through the SDK: create_zip/create_archive store one, download URLs stream one."""

from __future__ import annotations

import io
import tarfile
import time
import zipfile
from pathlib import Path

import cloudinary.uploader
import cloudinary.utils
import httpx
import pytest
from cloudinary.exceptions import Error as CloudinaryError

from tests.admin.conftest import AdminCloud


@pytest.fixture
def three(cloud: AdminCloud, png: Path) -> AdminCloud:
    for public_id, tags in (("arc/a", ["zip-me"]), ("arc/sub/b", ["zip-me"]), ("other/c", [])):
        cloudinary.uploader.upload(str(png), public_id=public_id, tags=tags)
    return cloud


def test_create_zip_stores_a_raw_asset(three: AdminCloud) -> None:
    result = cloudinary.uploader.create_zip(tags=["zip-me"], target_public_id="bundle")
    assert result["resource_type"] == "raw" and result["public_id"] == "bundle.zip"
    assert result["file_count"] == 2 and result["resource_count"] == 2
    archive = zipfile.ZipFile(io.BytesIO(httpx.get(result["url"]).content))
    assert sorted(archive.namelist()) == ["arc/a.png", "arc/sub/b.png"]


def test_create_archive_tgz_by_prefix_flattened(three: AdminCloud) -> None:
    result = cloudinary.uploader.create_archive(prefixes=["arc/"], target_format="tgz", flatten_folders=True)
    with tarfile.open(fileobj=io.BytesIO(httpx.get(result["url"]).content), mode="r:gz") as archive:
        assert sorted(archive.getnames()) == ["a.png", "b.png"]


def test_download_archive_url_streams_a_zip(three: AdminCloud) -> None:
    url = cloudinary.utils.download_archive_url(public_ids=["arc/a", "other/c"], expires_at=int(time.time()) + 600)
    response = httpx.get(url)
    assert response.status_code == 200
    assert sorted(zipfile.ZipFile(io.BytesIO(response.content)).namelist()) == ["arc/a.png", "other/c.png"]
    assert httpx.get(url.replace("public_ids%5B%5D=other%2Fc", "public_ids%5B%5D=arc%2Fsub%2Fb")).status_code == 401


def test_download_folder(three: AdminCloud) -> None:
    response = httpx.get(cloudinary.utils.download_folder("arc/"))
    assert sorted(zipfile.ZipFile(io.BytesIO(response.content)).namelist()) == ["arc/a.png", "arc/sub/b.png"]


def test_archive_of_nothing_is_refused(three: AdminCloud) -> None:
    with pytest.raises(CloudinaryError):
        cloudinary.uploader.create_zip(tags=["no-such-tag"])


def _sizes(entries: dict[str, bytes]) -> dict[str, tuple[int, int, str]]:
    """name → (width, height, loader) of each image entry."""
    import pyvips

    out = {}
    for name, data in entries.items():
        image = pyvips.Image.new_from_buffer(data, "")
        out[name] = (image.width, image.height, image.get("vips-loader"))
    return out


def test_create_zip_with_transformations_renders_each_image_per_transformation(three: AdminCloud) -> None:
    result = cloudinary.uploader.create_zip(
        tags=["zip-me"], transformations=[{"width": 16, "crop": "scale"}, {"width": 32, "height": 32, "crop": "fill", "format": "jpg"}]
    )
    assert result["file_count"] == 4 and result["resource_count"] == 2
    archive = zipfile.ZipFile(io.BytesIO(httpx.get(result["url"]).content))
    sizes = _sizes({name: archive.read(name) for name in archive.namelist()})
    assert sizes == {
        "c_scale,w_16/arc/a.png": (16, 12, "pngload_buffer"),
        "c_scale,w_16/arc/sub/b.png": (16, 12, "pngload_buffer"),
        "c_fill,h_32,w_32/arc/a.jpg": (32, 32, "jpegload_buffer"),
        "c_fill,h_32,w_32/arc/sub/b.jpg": (32, 32, "jpegload_buffer"),
    }


def test_archive_transformations_flattened_with_and_without_their_names(three: AdminCloud) -> None:
    url = cloudinary.utils.download_archive_url(prefixes=["arc/sub/"], target_format="tgz", transformations="w_8,c_scale|w_24,c_scale",
                                                flatten_transformations=True)
    with tarfile.open(fileobj=io.BytesIO(httpx.get(url).content), mode="r:gz") as archive:
        sizes = _sizes({m.name: archive.extractfile(m).read() for m in archive.getmembers()})  # type: ignore[union-attr]
    assert sizes == {"arc/sub/b_w_8,c_scale.png": (8, 6, "pngload_buffer"), "arc/sub/b_w_24,c_scale.png": (24, 18, "pngload_buffer")}
    skipped = cloudinary.uploader.create_zip(prefixes=["arc/sub/"], transformations="w_8,c_scale",
                                             flatten_transformations=True, skip_transformation_name=True)
    assert zipfile.ZipFile(io.BytesIO(httpx.get(skipped["url"]).content)).namelist() == ["arc/sub/b.png"]


def test_archive_with_a_malformed_transformation_is_400(three: AdminCloud) -> None:
    with pytest.raises(CloudinaryError, match="nonsense"):
        cloudinary.uploader.create_zip(tags=["zip-me"], transformations="nonsense_1")
