"""OCR: `ocr=adv_ocr` reads a text overlay darkroom itself rendered, in Google Vision's shape
under `info.ocr.adv_ocr`, and the text drives `g_ocr_text` and `e_pixelate_region,g_ocr_text`
(reference cloudinary-addons.md §5)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cloudinary.uploader
import numpy as np
import pytest
from support import LiveServer

from addons.support_addons import new_id, rendered, url_for

CAPTION = "SALE TODAY"


@pytest.fixture
def captioned(cld_sqlite: LiveServer, coffee: Path) -> dict[str, Any]:
    """The coffee photo with a black caption near its top, rendered by darkroom, uploaded with OCR."""
    photo = cloudinary.uploader.upload(str(coffee), public_id=new_id("ocr-photo"))["public_id"]
    caption = [{"overlay": {"font_family": "Arial", "font_size": 64, "font_weight": "bold", "text": CAPTION},
                "color": "black", "gravity": "north", "y": 20}]
    url = url_for(photo, transformation=caption, format="png")
    return cloudinary.uploader.upload(url, public_id=new_id("ocr"), ocr="adv_ocr")  # type: ignore[no-any-return]


def test_ocr_reads_the_rendered_caption_in_vision_shape(captioned: dict[str, Any]) -> None:
    block = captioned["info"]["ocr"]["adv_ocr"]
    assert block["status"] == "complete"
    [page] = block["data"]
    whole, *words = page["textAnnotations"]
    assert whole["description"].split() == CAPTION.split()
    assert page["fullTextAnnotation"]["text"] == whole["description"]
    vertices = whole["boundingPoly"]["vertices"]
    assert len(vertices) == 4
    assert all(v["y"] < 150 for v in vertices)  # the caption is at the top of the 400-px photo
    assert [word["description"] for word in words] == CAPTION.split()


def test_ocr_text_gravity_crops_around_the_text(captioned: dict[str, Any]) -> None:
    top = rendered(captioned["public_id"], crop="fill", width=600, height=120, gravity="ocr_text", format="png")
    centre = rendered(captioned["public_id"], crop="fill", width=600, height=120, format="png")
    original = rendered(captioned["public_id"], format="png")
    strip = original[20:140]  # the band holding the caption
    assert np.abs(top - strip).mean() < np.abs(centre - strip).mean()


def test_pixelate_region_with_ocr_text_hides_the_text_only(captioned: dict[str, Any]) -> None:
    plain = rendered(captioned["public_id"], format="png")
    hidden = rendered(captioned["public_id"], effect="pixelate_region:20", gravity="ocr_text", format="png")
    assert np.abs(hidden[20:110] - plain[20:110]).mean() > 3
    assert np.abs(hidden[250:] - plain[250:]).mean() < 0.5  # the bottom of the photo is untouched
