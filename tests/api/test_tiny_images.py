"""Every analysis option on the smallest images: a request stores and answers 200, never
stores and then fails (a 500 after the commit would leave the client believing the upload
was lost while the asset exists)."""

from __future__ import annotations

import secrets
from pathlib import Path

import cloudinary.api
import cloudinary.uploader
import pytest
import pyvips

from support import LiveServer

SIZES = [(1, 1), (2, 2), (1, 7), (7, 1)]
FORMATS = ["png", "jpg", "gif", "webp"]
ANALYSES = {"colors": True, "phash": True, "quality_analysis": True, "faces": True, "image_metadata": True}


def tiny(path: Path, width: int, height: int) -> Path:
    image = pyvips.Image.black(width, height, bands=3) + [200, 40, 90]
    image.cast("uchar").write_to_file(str(path))
    return path


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("width", "height"), SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_upload_with_every_analysis_answers_what_it_stored(cld_sqlite: LiveServer, tmp_path: Path, fmt: str, width: int, height: int) -> None:
    public_id = f"tiny/{fmt}-{width}x{height}-{secrets.token_hex(3)}"
    result = cloudinary.uploader.upload(str(tiny(tmp_path / f"t.{fmt}", width, height)), public_id=public_id, **ANALYSES)
    assert (result["width"], result["height"]) == (width, height)
    assert 0 <= result["quality_analysis"]["focus"] <= 1 and 0 <= result["quality_analysis"]["noise"] <= 1
    assert len(result["phash"]) == 16 and result["colors"] and result["faces"] == []
    explicit = cloudinary.uploader.explicit(public_id, type="upload", quality_analysis=True, colors=True)
    assert explicit["quality_analysis"] == result["quality_analysis"]
    assert cloudinary.api.resource(public_id)["public_id"] == public_id
