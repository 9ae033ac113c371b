"""Pictures made from text and from other pictures (`imaging.generation`)."""

from __future__ import annotations

import pytest
import pyvips

from darkroom.errors import Invalid
from darkroom.imaging import RenderRequest, render, render_image
from darkroom.imaging.generation import TextOptions, compose_animation, compose_pdf, compose_sprite, in_memory, render_text
from darkroom.transform import parse


def _solid(width: int, height: int, rgb: list[int]) -> pyvips.Image:
    return in_memory(pyvips.Image.new_from_buffer((pyvips.Image.black(width, height) + rgb).cast("uchar").pngsave_buffer(), ""))


def test_text_is_a_tight_png_on_its_background_with_opacity() -> None:
    picture = render_text("Hello", TextOptions(font_size=40, font_color="red", background="rgb:ffff00", opacity=50))
    image = pyvips.Image.new_from_buffer(picture.data, "")
    assert picture.format == "png" and (image.width, image.height) == (picture.width, picture.height)
    assert 60 < picture.width < 200 and 25 < picture.height < 80
    red, green, blue, alpha = (round(v) for v in image.getpoint(0, 0))
    assert (red, green, blue) == (255, 255, 0) and abs(alpha - 128) <= 1


def test_text_without_background_is_transparent_around_the_glyphs() -> None:
    image = pyvips.Image.new_from_buffer(render_text("Hi", TextOptions(font_size=30)).data, "")
    assert image.bands == 4 and image.extract_band(3).min() == 0 and image.extract_band(3).max() == 255


def test_sprite_stacks_tiles_with_a_gap() -> None:
    sheet, tiles = compose_sprite([("a", _solid(40, 10, [255, 0, 0])), ("b", _solid(20, 30, [0, 0, 255]))], max_pixels=10**6)
    assert [(t.name, t.x, t.y, t.width, t.height) for t in tiles] == [("a", 0, 0, 40, 10), ("b", 0, 12, 20, 30)]
    assert (sheet.width, sheet.height) == (40, 42)
    assert [round(v) for v in sheet.getpoint(30, 20)] == [0, 0, 0, 0]  # beside the narrow tile: transparent


def test_sprite_refuses_more_pixels_than_allowed() -> None:
    with pytest.raises(Invalid):
        compose_sprite([("a", _solid(100, 100, [1, 2, 3]))], max_pixels=5000)


@pytest.mark.parametrize("fmt", ["gif", "webp"])
def test_animation_fits_frames_to_the_first_and_keeps_the_delay(fmt: str) -> None:
    picture = compose_animation([_solid(40, 20, [255, 0, 0]), _solid(10, 10, [0, 255, 0])], fmt=fmt, delay_ms=250, max_pixels=10**6)
    image = pyvips.Image.new_from_buffer(picture.data, "", n=-1)
    assert (picture.width, picture.height, picture.pages) == (40, 20, 2)
    assert image.get("n-pages") == 2 and list(image.get("delay")) == [250, 250]
    red, green, blue = (round(v) for v in image.getpoint(20, 30)[:3])  # second frame, centred
    assert red < 10 and green > 245 and blue < 10


def test_animation_formats_are_gif_and_webp_only() -> None:
    with pytest.raises(Invalid):
        compose_animation([_solid(4, 4, [0, 0, 0])], fmt="png", delay_ms=100, max_pixels=10**6)


def test_pdf_has_one_page_per_image_and_a_valid_cross_reference() -> None:
    picture = compose_pdf([_solid(40, 20, [255, 0, 0]), _solid(10, 30, [0, 0, 255])])
    data = picture.data
    assert data.startswith(b"%PDF-1.4") and data.rstrip().endswith(b"%%EOF") and b"/Count 2" in data
    assert b"/MediaBox [0 0 40 20]" in data and b"/MediaBox [0 0 10 30]" in data
    xref = int(data.rsplit(b"startxref", 1)[1].split()[0])
    assert data[xref:].startswith(b"xref")
    offsets = [int(line.split()[0]) for line in data[xref:].split(b"\n")[3:11]]
    assert [data[o:].split(b" ", 1)[0] for o in offsets] == [str(n).encode() for n in range(1, 9)]


@pytest.mark.parametrize(
    ("text", "source", "fmt"), [("c_fill,w_120,h_90,e_sepia", "jpg", "jpg"), ("c_pad,w_250,h_250", "alpha_png", "png"), ("c_scale,w_60", "gif", "gif")]
)
def test_rendered_pixels_are_the_pixels_a_png_rendition_decodes_to(images: dict[str, str], text: str, source: str, fmt: str) -> None:
    # Sprites and animations take render_image's pixels instead of a PNG round trip: same picture.
    chain = parse(text)
    direct = in_memory(render_image(RenderRequest(images[source], chain, source_format=fmt, requested_format="png")).first_frame())
    via_png = in_memory(pyvips.Image.new_from_buffer(render(RenderRequest(images[source], chain, source_format=fmt, requested_format="png")).data, ""))
    assert (direct.width, direct.height, direct.bands) == (via_png.width, via_png.height, via_png.bands)
    assert direct.bands == 4  # in_memory gives RGBA
    assert (direct - via_png).abs().max() == 0


def test_render_image_keeps_every_frame_of_an_animation(images: dict[str, str]) -> None:
    rendered = render_image(RenderRequest(images["gif"], parse("c_scale,w_60/dl_40"), source_format="gif"))
    assert (rendered.pages, rendered.frame_height, rendered.delay) == (3, 40, [40, 40, 40])
    assert (rendered.image.width, rendered.image.height) == (60, 120)
    first = rendered.first_frame()
    assert (first.width, first.height) == (60, 40) and first(30, 20)[0] > 200  # the red frame
