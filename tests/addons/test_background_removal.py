"""Background removal: `e_background_removal` in URLs and `background_removal=cloudinary_ai`
on upload give real alpha; without a model a classical matting serves plain backgrounds and
says so, and a busy background is a clear 400 (reference cloudinary-addons.md §2)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cloudinary
import cloudinary.api
import cloudinary.uploader
import httpx
import numpy as np
import pytest
import pyvips
from cloudinary.exceptions import BadRequest, NotFound
from support import LiveServer, own_sqlite_server, sdk_pointed_at

from addons.support_addons import fetch, new_id, pixels, rendered, url_for


def _corners(alpha: np.ndarray, size: int = 12) -> list[float]:
    return [float(part.mean()) for part in (alpha[:size, :size], alpha[:size, -size:], alpha[-size:, :size], alpha[-size:, -size:])]


def test_upload_with_background_removal_stores_a_cut_out(cld_sqlite: LiveServer, subject_on_plain: Path) -> None:
    reply = cloudinary.uploader.upload(str(subject_on_plain), public_id=new_id("cutout"), background_removal="cloudinary_ai")
    assert reply["info"]["background_removal"]["cloudinary_ai"] == {"status": "complete", "data": {"method": "grabcut"}}
    assert reply["format"] == "png"
    stored = pixels(httpx.get(reply["url"]).content)
    assert stored.shape[2] == 4, "no alpha channel"
    assert max(_corners(stored[..., 3])) < 5  # the plain background is transparent
    assert stored[200, 210, 3] > 250  # the cup is kept


def test_url_effect_cuts_out_a_subject_on_a_plain_background(cld_sqlite: LiveServer, subject_on_plain: Path) -> None:
    public_id = cloudinary.uploader.upload(str(subject_on_plain), public_id=new_id("url-cutout"))["public_id"]
    cut = rendered(public_id, effect="background_removal", format="png")
    assert max(_corners(cut[..., 3])) < 5 and cut[200, 210, 3] > 250


def test_f_auto_keeps_the_transparency(cld_sqlite: LiveServer, subject_on_plain: Path) -> None:
    public_id = cloudinary.uploader.upload(str(subject_on_plain), public_id=new_id("auto-cutout"))["public_id"]
    response = httpx.get(url_for(public_id, effect="background_removal", fetch_format="auto"), headers={"Accept": "image/webp,image/*"})
    assert response.headers["content-type"] == "image/webp"
    assert max(_corners(pixels(response.content)[..., 3])) < 5


def test_busy_background_without_a_model_is_a_clear_400(cld_sqlite: LiveServer, astronaut: Path) -> None:
    public_id = new_id("busy")
    with pytest.raises(BadRequest, match="plain backgrounds only"):
        cloudinary.uploader.upload(str(astronaut), public_id=public_id, background_removal="cloudinary_ai")
    with pytest.raises(NotFound):
        cloudinary.api.resource(public_id)
    stored = cloudinary.uploader.upload(str(astronaut), public_id=public_id)["public_id"]
    response = fetch(stored, effect="background_removal", format="png")
    assert response.status_code == 400
    assert "matting.onnx" in response.headers["x-cld-error"]


def test_with_a_matting_model_any_background_is_cut_out(with_models: LiveServer, astronaut: Path) -> None:
    public_id = cloudinary.uploader.upload(str(astronaut), public_id=new_id("model-cutout"))["public_id"]
    cut = rendered(public_id, effect="background_removal", format="png")
    assert cut.shape == (512, 512, 4)
    alpha = cut[..., 3]
    assert alpha.min() < 10 and alpha.max() > 245  # the (tiny, brightness) model's mask, stretched to 0..255


def test_update_with_background_removal_makes_a_new_version(with_models: LiveServer, coffee: Path) -> None:
    first = cloudinary.uploader.upload(str(coffee), public_id=new_id("update-cutout"), tags=["kept"])
    reply = cloudinary.api.update(first["public_id"], background_removal="cloudinary_ai")
    assert reply["info"]["background_removal"]["cloudinary_ai"]["data"]["method"] == "model"
    assert reply["version"] > first["version"]
    assert reply["format"] == "png" and reply["tags"] == ["kept"]



@pytest.fixture
def small_limit_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server accepting at most one million pixels, the SDK configured for it."""
    for server in own_sqlite_server(tmp_path_factory, "darkroom-small-limit", extra_env={"DARKROOM_MAX_IMAGE_PIXELS": "1000000"}):
        with sdk_pointed_at(server):
            yield server


def test_a_picture_over_the_pixel_limit_is_refused_before_the_cut_out(small_limit_server: LiveServer, tmp_path: Path) -> None:
    """Background removal checks the header's size before decoding: a small file declaring a
    huge picture is refused, nothing stored; and the refusal comes first (a busy picture over
    the limit is "too large", not a matting that ran on its pixels)."""
    bomb = tmp_path / "bomb.png"
    pyvips.Image.black(2_000, 2_000).cast("uchar").pngsave(str(bomb), compression=9)
    assert bomb.stat().st_size < 50_000
    public_id = new_id("bomb")
    with pytest.raises(BadRequest, match="Image is too large: 2000x2000"):
        cloudinary.uploader.upload(str(bomb), public_id=public_id, background_removal="cloudinary_ai")
    with pytest.raises(NotFound):
        cloudinary.api.resource(public_id)
    busy = tmp_path / "busy.png"
    (pyvips.Image.gaussnoise(1_100, 1_000, mean=128, sigma=60).bandjoin([pyvips.Image.gaussnoise(1_100, 1_000)] * 2)
     .cast("uchar").copy(interpretation="srgb").pngsave(str(busy)))
    with pytest.raises(BadRequest, match="Image is too large: 1100x1000"):
        cloudinary.uploader.upload(str(busy), public_id=new_id("busy"), background_removal="cloudinary_ai")
