"""The canonical form draws the very pixels of the URL it came from (`transform.canonical`)."""

from __future__ import annotations

import pytest
import pyvips

from darkroom.imaging import RenderRequest, render
from darkroom.transform import parse

# (transformation as written, source) — each folds to a shorter canonical text.
SPELLINGS = [
    ("c_scale,w_300", "jpg"),
    ("c_scale,w_300,h_100", "jpg"),
    ("c_scale,h_0.5", "jpg"),
    ("c_scale,l_logo,w_20", "jpg"),
    ("c_fill,g_center,w_120,h_200", "jpg"),
    ("c_pad,g_center,w_300,h_300", "alpha_png"),
    ("c_lfill,g_center,w_100,h_50", "jpg"),
    ("c_thumb,g_face,w_100,h_100,z_1.0", "astronaut"),
    ("ar_32:18,c_fill,w_320", "jpg"),
    ("ar_1.5,c_fill,w_300", "jpg"),
    ("ar_2.0,c_pad,w_300", "jpg"),
    ("r_10:20:10:20", "jpg"),
    ("r_10:20:30:20", "alpha_png"),
    ("r_0,w_200", "jpg"),
    ("bo_0px_solid_red,w_200", "jpg"),
    ("a_0/c_fill,w_150,h_150", "jpg"),
]
_FORMATS = {"jpg": "jpg", "alpha_png": "png", "astronaut": "jpg"}


def _pixels(images: dict[str, str], source: str, text: str) -> pyvips.Image:
    rendered = render(RenderRequest(images[source], parse(text), source_format=_FORMATS[source], requested_format="png", load_layer=images.get))
    return pyvips.Image.new_from_buffer(rendered.data, "")


@pytest.mark.parametrize(("text", "source"), SPELLINGS, ids=[row[0] for row in SPELLINGS])
def test_canonical_text_renders_the_same_pixels(images: dict[str, str], text: str, source: str) -> None:
    canonical = parse(text).canonical()
    assert canonical != text  # the row exercises a fold
    written, folded = _pixels(images, source, text), _pixels(images, source, canonical)
    assert (written.width, written.height, written.bands) == (folded.width, folded.height, folded.bands)
    assert (written - folded).abs().max() == 0
