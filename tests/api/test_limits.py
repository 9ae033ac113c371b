"""Byte and pixel limits are enforced before any decode, with a clear 400 and nothing stored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cloudinary.uploader
import pytest
import pyvips
from cloudinary.exceptions import BadRequest

from support import LiveServer, configure_sdk, start_server, stop_server, wait_until_healthy


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("limited")
    server = start_server(
        data_dir,
        f"sqlite:///{data_dir / 'd.db'}",
        extra_env={"DARKROOM_MAX_IMAGE_PIXELS": "5000", "DARKROOM_MAX_UPLOAD_BYTES": "50000"},
    )
    try:
        wait_until_healthy(server.base_url, server.process)
        configure_sdk(server)
        yield server
    finally:
        stop_server(server)


def test_image_over_the_pixel_limit_is_refused(limited: LiveServer, sample_png: Path) -> None:
    with pytest.raises(BadRequest, match=r"Image is too large: 120x80 is 9600 pixels; the maximum is 5000"):
        cloudinary.uploader.upload(str(sample_png), public_id="limits/too-many-pixels")
    assert not any(path.is_file() for path in (limited.data_dir / "blobs").rglob("*")), "nothing may be stored"


def test_file_over_the_byte_limit_is_refused_while_streaming(limited: LiveServer, tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(b"\0" * 60_000)
    with pytest.raises(BadRequest, match="File size too large"):
        cloudinary.uploader.upload(str(big), resource_type="raw")
    assert not any((limited.data_dir / "spool").glob("upload-*"))


def test_chunked_upload_over_the_byte_limit_is_refused(limited: LiveServer, tmp_path: Path) -> None:
    big = tmp_path / "big-chunked.bin"
    big.write_bytes(b"\1" * 80_000)
    with pytest.raises(BadRequest, match="File size too large"):
        cloudinary.uploader.upload_large(str(big), chunk_size=20_000)


def test_every_frame_of_an_animation_counts_towards_the_pixel_limit(limited: LiveServer, tmp_path: Path) -> None:
    frames = [(pyvips.Image.black(40, 40) + 60 * n).cast("uchar").copy(interpretation="b-w") for n in range(4)]
    animation = pyvips.Image.arrayjoin(frames, across=1).copy()  # distinct frames, so none is merged
    animation.set_type(pyvips.GValue.gint_type, "page-height", 40)
    path = tmp_path / "frames.gif"
    animation.write_to_file(str(path))  # 40x40 x 4 frames = 6400 pixels > 5000
    with pytest.raises(BadRequest, match="40x40x4 frames is 6400 pixels"):
        cloudinary.uploader.upload(str(path))
