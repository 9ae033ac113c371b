"""BMP, ICO, JPEG 2000, PDF and TGA: formats libvips cannot write, encoded by Pillow from
the rendered pixels. Judged on the decoded files: magic bytes, sizes, colours, alpha, pages."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
import pyvips
from PIL import Image

from darkroom.imaging import Rendered, RenderRequest, render
from darkroom.imaging.formats import EncodeOptions, choose_format, encode, encoder_quality
from darkroom.transform import Quality, parse

CHAIN = "c_fill,w_120,h_90"

MAGIC = {
    "bmp": b"BM",
    "ico": b"\x00\x00\x01\x00",
    "jp2": b"\x00\x00\x00\x0cjP  \r\n\x87\n",
    "pdf": b"%PDF-",
}
CONTENT_TYPES = {
    "bmp": "image/bmp",
    "ico": "image/x-icon",
    "jp2": "image/jp2",
    "pdf": "application/pdf",
    "tga": "image/x-tga",
}
PILLOW_NAMES = {"bmp": "BMP", "ico": "ICO", "jp2": "JPEG2000", "tga": "TGA"}
PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")
MEDIA_BOX = re.compile(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]")


def _render(images: dict[str, str], text: str, source: str = "jpg", **options: object) -> Rendered:
    source_format = {"jpg": "jpg", "alpha_png": "png", "gif": "gif"}[source]
    return render(RenderRequest(images[source], parse(text), source_format=source_format, **options))  # type: ignore[arg-type]


def _opened(data: bytes) -> Image.Image:
    picture = Image.open(io.BytesIO(data))
    picture.load()
    return picture


def _rgb(data: bytes) -> np.ndarray:
    return np.asarray(_opened(data).convert("RGB"), dtype=np.int16)


def _pdf_page_sizes(data: bytes) -> list[tuple[float, float]]:
    return [(float(w), float(h)) for w, h in MEDIA_BOX.findall(data)]


@pytest.mark.parametrize("fmt", ["bmp", "ico", "jp2", "pdf", "tga"])
def test_each_new_format_is_named_by_its_content_type(images: dict[str, str], fmt: str) -> None:
    rendered = _render(images, f"{CHAIN}/f_{fmt}")

    assert rendered.format == fmt
    assert rendered.content_type == CONTENT_TYPES[fmt]
    if fmt in MAGIC:
        assert rendered.data.startswith(MAGIC[fmt])


@pytest.mark.parametrize("fmt", ["bmp", "ico", "jp2", "tga"])
def test_images_decode_at_the_requested_size_with_the_colours_of_a_jpeg_render(images: dict[str, str], fmt: str) -> None:
    rendered = _render(images, f"{CHAIN}/f_{fmt}")
    reference = _rgb(_render(images, f"{CHAIN}/f_jpg").data)

    picture = _opened(rendered.data)

    assert picture.format == PILLOW_NAMES[fmt]
    assert picture.size == (120, 90)
    assert np.abs(_rgb(rendered.data) - reference).mean() < 3


def test_a_pdf_is_one_page_as_large_in_points_as_the_image_in_pixels(images: dict[str, str]) -> None:
    rendered = _render(images, f"{CHAIN}/f_pdf")
    reference = _rgb(_render(images, f"{CHAIN}/f_jpg").data)

    assert len(PAGE.findall(rendered.data)) == 1
    assert _pdf_page_sizes(rendered.data) == [(120.0, 90.0)]
    # The page's picture is a JPEG stream: Pillow reads it straight out of the file.
    start = rendered.data.index(b"\xff\xd8\xff")
    page = np.asarray(Image.open(io.BytesIO(rendered.data[start:])).convert("RGB"), dtype=np.int16)
    assert page.shape == (90, 120, 3)
    assert np.abs(page - reference).mean() < 3


def test_the_delivery_extension_asks_for_the_format_as_f_does(images: dict[str, str]) -> None:
    by_extension = _render(images, CHAIN, requested_format="tga")
    by_f = _render(images, f"{CHAIN}/f_tga")

    assert by_extension.format == by_f.format == "tga"
    assert by_extension.data == by_f.data


def test_an_icon_larger_than_256_pixels_keeps_its_aspect_within_256(images: dict[str, str]) -> None:
    rendered = _render(images, "c_scale,w_400/f_ico")  # 400×300

    icon = _opened(rendered.data)

    assert max(icon.ico.sizes()) == (256, 192)
    assert icon.size == (256, 192)
    assert (rendered.width, rendered.height) == (256, 192)  # what the response says is what the file holds


@pytest.mark.parametrize("fmt", ["ico", "tga", "bmp", "jp2"])
def test_padding_is_transparent_in_formats_with_alpha(images: dict[str, str], fmt: str) -> None:
    rendered = _render(images, f"c_pad,w_200,h_200/f_{fmt}")  # 400×300 → 200×150 in a 200×200 box

    picture = _opened(rendered.data).convert("RGBA")

    assert picture.getpixel((100, 5))[3] == 0  # the band above the picture
    assert picture.getpixel((100, 100))[3] == 255


@pytest.mark.parametrize("fmt", ["ico", "tga", "bmp"])
def test_formats_with_alpha_keep_transparency(images: dict[str, str], fmt: str) -> None:
    rendered = _render(images, f"f_{fmt}", source="alpha_png")  # 200×100, opaque 100×50 box in the middle

    picture = _opened(rendered.data).convert("RGBA")

    assert picture.size == (200, 100)
    assert picture.getpixel((5, 5))[3] == 0
    assert picture.getpixel((100, 50))[3] == 255


def test_a_pdf_of_a_transparent_image_is_flattened_against_the_background(images: dict[str, str]) -> None:
    rendered = _render(images, "b_rgb:ff0000/f_pdf", source="alpha_png")

    start = rendered.data.index(b"\xff\xd8\xff")
    page = Image.open(io.BytesIO(rendered.data[start:])).convert("RGB")

    assert page.size == (200, 100)
    red, green, blue = page.getpixel((5, 5))
    assert red > 230 and green < 30 and blue < 30


def test_a_gif_to_bmp_is_its_first_frame(images: dict[str, str]) -> None:
    rendered = _render(images, "f_bmp", source="gif")  # frames: red, green, blue; 120×80 each

    picture = _opened(rendered.data).convert("RGB")

    assert picture.size == (120, 80)
    red, green, blue = picture.getpixel((60, 40))
    assert red > 230 and green < 30 and blue < 30


def test_a_gif_to_pdf_renders_its_frames_as_pages_of_the_frame_size(images: dict[str, str]) -> None:
    rendered = _render(images, "f_pdf", source="gif")

    sizes = _pdf_page_sizes(rendered.data)

    assert len(PAGE.findall(rendered.data)) == len(sizes) == 3  # red, green, blue
    assert set(sizes) == {(120.0, 80.0)}
    assert (rendered.width, rendered.height) == (120, 80)  # a page's size, as for animated WebP


def test_an_animation_encoded_as_pdf_gives_one_page_per_frame() -> None:
    frames = [(pyvips.Image.black(60, 40) + colour).cast("uchar") for colour in ([255, 0, 0], [0, 255, 0], [0, 0, 255])]
    animation = pyvips.Image.arrayjoin(frames, across=1).copy(interpretation="srgb")
    animation.set_type(pyvips.GValue.gint_type, "page-height", 40)

    data = encode(animation, EncodeOptions("pdf", quality=80))

    assert len(PAGE.findall(data)) == 3
    assert _pdf_page_sizes(data) == [(60.0, 40.0)] * 3


@pytest.mark.parametrize(
    "pixels",
    [
        pytest.param(lambda: (pyvips.Image.black(30, 20) + 90).cast("uchar").copy(interpretation="b-w"), id="grey"),
        pytest.param(lambda: (pyvips.Image.black(30, 20) + [90, 200]).cast("uchar").copy(interpretation="b-w"), id="grey-alpha"),
        pytest.param(lambda: (pyvips.Image.black(30, 20) + [20000, 40000, 60000]).cast("ushort").copy(interpretation="rgb16"), id="16-bit"),
        pytest.param(lambda: (pyvips.Image.black(30, 20) + [0, 0, 0, 0]).cast("uchar").copy(interpretation="cmyk"), id="cmyk"),
    ],
)
@pytest.mark.parametrize("fmt", ["bmp", "ico", "jp2", "pdf", "tga"])
def test_any_pixel_layout_becomes_a_file_pillow_reads_back(fmt: str, pixels) -> None:  # type: ignore[no-untyped-def]
    data = encode(pixels(), EncodeOptions(fmt, quality=encoder_quality(fmt, None)))

    if fmt == "pdf":
        assert _pdf_page_sizes(data) == [(30.0, 20.0)]
    else:
        assert _opened(data).size == (30, 20)


def test_jpeg2000_quality_is_a_psnr_target_and_100_is_lossless(images: dict[str, str]) -> None:
    lossless = _render(images, f"{CHAIN}/q_100/f_jp2")
    fine = _render(images, f"{CHAIN}/q_60/f_jp2")
    coarse = _render(images, f"{CHAIN}/q_25/f_jp2")
    pixels = pyvips.Image.new_from_buffer(_render(images, f"{CHAIN}/f_png").data, "")
    exact = np.asarray(Image.frombytes("RGB", (120, 90), pixels.write_to_memory()), dtype=np.int16)

    assert np.array_equal(_rgb(lossless.data), exact)
    assert len(coarse.data) < len(fine.data) < len(lossless.data)
    assert encoder_quality("jp2", None) == encoder_quality("jp2", Quality(auto="good")) == 48
    assert encoder_quality("jp2", Quality(level=70)) == 70


def test_pdf_pages_take_jpeg_qualities() -> None:
    assert encoder_quality("pdf", Quality(level=35)) == 35
    assert encoder_quality("pdf", None) == encoder_quality("jpg", None)
    assert encoder_quality("pdf", Quality(auto="low")) == encoder_quality("jpg", Quality(auto="low"))


ACCEPTS = [
    None,
    "*/*",
    "image/avif,image/webp,*/*",
    "image/bmp,image/x-icon,image/jp2,application/pdf,image/x-tga,*/*;q=0.8",
]


@pytest.mark.parametrize("accept", ACCEPTS)
@pytest.mark.parametrize("source_format", ["bmp", "ico", "jp2", "pdf", "tga", "jpg", "png"])
@pytest.mark.parametrize(("has_alpha", "animated"), [(False, False), (True, False), (False, True)])
def test_f_auto_never_answers_with_the_new_formats(accept: str | None, source_format: str, has_alpha: bool, animated: bool) -> None:
    choice = choose_format("auto", None, source_format, accept, has_alpha=has_alpha, animated=animated)

    assert choice.format in ("jpg", "png", "webp", "avif", "gif")


def test_f_auto_on_a_render_never_answers_with_the_new_formats(images: dict[str, str]) -> None:
    for accept in ACCEPTS:
        assert _render(images, f"{CHAIN}/f_auto", requested_format="ico", accept=accept).format not in CONTENT_TYPES


@pytest.mark.parametrize("fmt", ["bmp", "tga"])
def test_an_embedded_profile_goes_into_the_pixels_since_these_files_drop_it(fmt: str) -> None:
    srgb = (pyvips.Image.black(30, 20) + [200, 100, 50]).cast("uchar").copy(interpretation="srgb")
    in_p3 = srgb.icc_export(output_profile="p3")  # other numbers, with the P3 profile attached

    picture = _opened(encode(in_p3, EncodeOptions(fmt, quality=None))).convert("RGB")

    assert all(abs(got - want) <= 6 for got, want in zip(picture.getpixel((1, 1)), (200, 100, 50)))
