"""The whole upload → deliver → destroy path with blobs in a real S3-compatible server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import cloudinary.uploader
import cloudinary.utils
import httpx
import pytest
import pyvips

from support import MOTO_KEY, MOTO_SECRET, LiveServer, configure_sdk, make_bucket, s3_url, start_server, stop_server, wait_until_healthy


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory, moto_endpoint: str) -> Iterator[tuple[LiveServer, str]]:
    bucket = make_bucket(moto_endpoint)
    data_dir = tmp_path_factory.mktemp("s3-server")
    server = start_server(data_dir, f"sqlite:///{data_dir / 'd.db'}", extra_env={"DARKROOM_STORAGE_URL": s3_url(moto_endpoint, bucket)})
    try:
        wait_until_healthy(server.base_url, server.process)
        configure_sdk(server)
        yield server, bucket
    finally:
        stop_server(server)


def _bucket_keys(endpoint: str, bucket: str) -> list[str]:
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=MOTO_KEY, aws_secret_access_key=MOTO_SECRET)
    return [item["Key"] for item in client.list_objects_v2(Bucket=bucket).get("Contents", [])]


def test_upload_deliver_and_destroy_through_s3(s3_server: tuple[LiveServer, str], moto_endpoint: str, sample_png: Path, tmp_path: Path) -> None:
    server, bucket = s3_server
    result = cloudinary.uploader.upload(str(sample_png), public_id="s3/photo")
    keys = _bucket_keys(moto_endpoint, bucket)
    assert any(key.startswith(f"{server.cloud}/originals/") for key in keys)
    assert httpx.get(result["url"]).content == sample_png.read_bytes()
    payload = bytes(range(256)) * 400
    (tmp_path / "chunked.bin").write_bytes(payload)
    chunked = cloudinary.uploader.upload_large(str(tmp_path / "chunked.bin"), chunk_size=40_000)
    assert httpx.get(chunked["url"]).content == payload
    assert not any("/chunks/" in key for key in _bucket_keys(moto_endpoint, bucket)), "chunks are removed once assembled"
    cloudinary.uploader.destroy("s3/photo")
    assert httpx.get(result["url"]).status_code == 404
    assert len(_bucket_keys(moto_endpoint, bucket)) == 1  # only the chunked upload's original remains


def test_a_stored_overlay_is_read_from_s3_and_its_copy_removed(s3_server: tuple[LiveServer, str], sample_png: Path, tmp_path: Path) -> None:
    server, _ = s3_server
    badge = tmp_path / "badge.png"
    (pyvips.Image.black(16, 16) + [255, 0, 0]).cast("uchar").copy(interpretation="srgb").pngsave(str(badge))
    cloudinary.uploader.upload(str(sample_png), public_id="s3/base")
    cloudinary.uploader.upload(str(badge), public_id="s3/badge")
    url = cloudinary.utils.cloudinary_url(
        "s3/base", format="png",
        transformation=[{"overlay": "s3:badge", "gravity": "north_west", "flags": "layer_apply"}],
    )[0]

    response = httpx.get(url)

    assert response.status_code == 200, response.headers.get("x-cld-error")
    assert pyvips.Image.new_from_buffer(response.content, "")(4, 4)[:3] == [255, 0, 0]
    spool = server.data_dir / "spool"
    assert not spool.exists() or not any(spool.iterdir()), "the overlay's local copy is removed after the render"


def test_a_range_of_an_original_is_read_from_s3(s3_server: tuple[LiveServer, str], tmp_path: Path) -> None:
    payload = bytes(index % 253 for index in range(2 * 1024 * 1024 + 3))
    (tmp_path / "clip.bin").write_bytes(payload)
    url = cloudinary.uploader.upload(str(tmp_path / "clip.bin"), resource_type="raw", public_id="s3/clip.bin")["url"]

    middle = httpx.get(url, headers={"Range": "bytes=1048570-1048600"})
    tail = httpx.get(url, headers={"Range": "bytes=-7"})

    assert (middle.status_code, middle.content) == (206, payload[1048570:1048601])
    assert middle.headers["content-range"] == f"bytes 1048570-1048600/{len(payload)}"
    assert (tail.status_code, tail.content) == (206, payload[-7:])
    assert httpx.get(url, headers={"Range": f"bytes={len(payload)}-"}).status_code == 416
