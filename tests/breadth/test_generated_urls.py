"""Sprite and multi replies carry their transformation in their URLs, as Cloudinary's do, and those
URLs serve the generated files as made (not transformed a second time)."""

from __future__ import annotations

import secrets
from pathlib import Path

import cloudinary.uploader
import httpx
import pytest
import pyvips

from tests.breadth.conftest import AdminCloud


@pytest.fixture
def tagged(cloud: AdminCloud, tmp_path: Path) -> str:
    tag = f"gen{secrets.token_hex(3)}"
    for index, colour in enumerate(([255, 0, 0], [0, 0, 255])):
        path = tmp_path / f"{index}.png"
        (pyvips.Image.black(40, 30) + colour).cast("uchar").write_to_file(str(path))
        cloudinary.uploader.upload(str(path), public_id=f"{tag}/p{index}", tags=[tag])
    return tag


def _image(url: str, **options: int) -> pyvips.Image:
    response = httpx.get(url)
    assert response.status_code == 200, (url, response.text)
    return pyvips.Image.new_from_buffer(response.content, "", **options)


def test_sprite_urls_carry_the_transformation_and_serve_the_sheet_as_made(tagged: str) -> None:
    result = cloudinary.uploader.generate_sprite(tagged, transformation={"width": 20, "crop": "scale"})
    for name in ("image_url", "css_url", "json_url", "secure_image_url"):
        assert f"/image/sprite/w_20/v{result['version']}/{tagged}." in result[name], name
    sheet = _image(result["image_url"])
    assert (sheet.width, sheet.height) == (20, 15 + 2 + 15)  # each 40×30 image scaled to 20×15, as made
    css = httpx.get(result["css_url"])
    assert css.status_code == 200 and "background-position" in css.text
    assert httpx.get(result["json_url"]).json()["image_infos"] == result["image_infos"]


def test_multi_url_carries_the_transformation_and_serves_the_animation_as_made(tagged: str) -> None:
    result = cloudinary.uploader.multi(tagged, format="gif", transformation={"width": 20, "crop": "scale", "delay": 300})
    assert f"/image/multi/dl_300,w_20/v{result['version']}/{tagged}.gif" in result["url"]
    animation = _image(result["url"], n=-1)
    assert animation.width == 20 and animation.get("n-pages") == 2
    plain = cloudinary.uploader.multi(tagged, format="gif")
    assert f"/image/multi/v{plain['version']}/{tagged}.gif" in plain["url"]
