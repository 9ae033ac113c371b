"""The official SDK builds the URL; darkroom parses and renders it at the size Cloudinary would.

A durable slice of the compatibility sweep: the options real applications send most.
"""

from __future__ import annotations

from typing import Any

import cloudinary
import cloudinary.utils
import pytest
import pyvips

from darkroom.imaging import RenderRequest, UnsupportedTransformation, render
from darkroom.transform import parse

# SDK options → output size for the 512×512 astronaut.
SIZES: list[tuple[dict[str, Any], tuple[int, int]]] = [
    ({"width": 300, "height": 200, "crop": "fill", "gravity": "auto", "fetch_format": "auto", "quality": "auto"}, (300, 200)),
    ({"width": 300, "height": 200, "crop": "fill", "gravity": "auto", "quality": "auto", "fetch_format": "auto", "dpr": "2.0"}, (600, 400)),
    ({"width": 300}, (300, 300)),
    ({"width": 300, "crop": "scale"}, (300, 300)),
    ({"size": "200x100", "crop": "fill"}, (200, 100)),
    ({"width": 200, "height": 100, "crop": "fit"}, (100, 100)),
    ({"width": 960, "crop": "limit"}, (512, 512)),
    ({"width": 800, "height": 600, "crop": "lpad"}, (800, 600)),
    ({"width": 150, "height": 150, "crop": "thumb", "gravity": "face", "zoom": 0.75}, (150, 150)),
    ({"width": 200, "crop": "fill", "aspect_ratio": "16:9"}, (200, 112)),
    ({"width": 200, "crop": "pad", "aspect_ratio": "2:1"}, (200, 100)),
    ({"transformation": [{"width": 100, "crop": "limit"}, {"dpr": 2.0}]}, (200, 200)),
    ({"width": "iw / 2", "crop": "scale"}, (256, 256)),
    ({"variables": [["$w", "iw / 4"]], "width": "$w", "crop": "scale"}, (128, 128)),
    ({"transformation": [{"if": "w > 400"}, {"width": 400, "crop": "scale"}, {"if": "else"}, {"effect": "sepia"}, {"if": "end"}]}, (400, 400)),
    ({"border": {"width": 4, "color": "#00ff00"}}, (520, 520)),
    ({"transformation": [{"overlay": "logo", "width": 20, "crop": "scale"}, {"flags": "layer_apply", "gravity": "south_east", "x": 10, "y": 10}]}, (512, 512)),
    ({"overlay": {"text": "Hello, World/50% off", "font_family": "Arial", "font_size": 40, "font_weight": "bold"}, "color": "white"}, (512, 512)),
    ({"raw_transformation": "w_100,c_scale"}, (100, 100)),
]
# Effects the seed's lightbox and next-cloudinary send, and the colour family. (The auto_*
# levels are left out: the astronaut already spans 0-255, so there is nothing to stretch.)
EFFECTS = """sepia sepia:60 grayscale vignette vignette:30 sharpen sharpen:100 improve improve:indoor:50 blur:500
blackwhite negate brightness:30 contrast:50 saturation:-50 hue:40 vibrance tint:40:red:blue tint:equalize:80:red:blue
colorize:40 oil_paint pixelate:10 unsharp_mask noise:50 cartoonify gradient_fade""".split()
# Cloudinary runs these through a model (or an add-on): a clear 400, never a silent no-op.
# e_enhance is darkroom's classical enhancer (e_improve, docs/addons.md); background removal and upscale
# render only with the model effects the application layer gives (tests/addons).
NEEDS_A_MODEL = "background_removal upscale gen_remove:prompt_text gen_restore style_transfer dropshadow extract:prompt_person".split()


@pytest.fixture(autouse=True)
def _sdk_config() -> None:
    cloudinary.config(cloud_name="demo", api_key="k", api_secret="s")


def _transformation(options: dict[str, Any]) -> str:
    url = cloudinary.utils.cloudinary_url("sample", **options)[0]
    return url.split("/image/upload/", 1)[1].rsplit("/", 1)[0] if "/" in url.split("/image/upload/", 1)[1] else ""


def _render(images: dict[str, str], options: dict[str, Any]) -> pyvips.Image:
    layers = {"logo": images["logo"]}
    rendered = render(RenderRequest(images["astronaut"], parse(_transformation(options)), source_format="jpg", requested_format="png", load_layer=layers.get))
    return pyvips.Image.new_from_buffer(rendered.data, "")


@pytest.mark.parametrize(("options", "size"), SIZES, ids=[str(options) for options, _ in SIZES])
def test_sdk_urls_render_at_cloudinarys_size(images: dict[str, str], options: dict[str, Any], size: tuple[int, int]) -> None:
    image = _render(images, options)
    assert (image.width, image.height) == size


@pytest.mark.parametrize("effect", EFFECTS)
def test_sdk_effects_render_and_change_the_picture(images: dict[str, str], effect: str) -> None:
    plain, changed = _render(images, {}), _render(images, {"effect": effect})
    assert (changed.width, changed.height) == (plain.width, plain.height)
    alpha_changed = changed.bands != plain.bands  # gradient_fade: the picture fades into transparency
    assert alpha_changed or (changed - plain).abs().avg() > 0.5


def _channels(image: pyvips.Image) -> list[pyvips.Image]:
    return [image.extract_band(i).cast("int") for i in range(3)]


@pytest.mark.parametrize("effect", ["sepia", "sepia:60"])
def test_next_cloudinary_sepia_tones_every_pixel_warm(images: dict[str, str], effect: str) -> None:
    """`<CldImage sepia>` (e_sepia, or e_sepia:60): ImageMagick's sepia-tone, the whole picture."""
    red, green, blue = _channels(_render(images, {"effect": effect}))
    ordered = ((red >= green) & (green >= blue)) / 255  # 1 where R ≥ G ≥ B
    assert ordered.avg() > 0.99
    assert red.avg() - blue.avg() > 30


def _edge_energy(image: pyvips.Image) -> float:
    grey = image.colourspace("b-w").extract_band(0).cast("float")
    across = (grey.crop(1, 0, grey.width - 1, grey.height) - grey.crop(0, 0, grey.width - 1, grey.height)).abs().avg()
    down = (grey.crop(0, 1, grey.width, grey.height - 1) - grey.crop(0, 0, grey.width, grey.height - 1)).abs().avg()
    return float(across + down)


def test_next_cloudinary_blur_is_strong_by_default(images: dict[str, str]) -> None:
    """`<CldImage blur>` sends e_blur (Cloudinary's strength 100); `blur="500"` e_blur:500."""
    plain = _edge_energy(_render(images, {}))
    default = _edge_energy(_render(images, {"effect": "blur"}))
    assert default == _edge_energy(_render(images, {"effect": "blur:100"}))
    assert default < 0.5 * plain
    assert _edge_energy(_render(images, {"effect": "blur:500"})) < 0.5 * default


@pytest.mark.parametrize("effect", NEEDS_A_MODEL)
def test_effects_that_need_a_model_are_a_clear_400(images: dict[str, str], effect: str) -> None:
    with pytest.raises(UnsupportedTransformation, match="add-on"):
        _render(images, {"effect": effect})


def test_equalize_tint_spreads_the_histogram_before_tinting(images: dict[str, str]) -> None:
    grey = images["grey"]  # one flat grey: equalising pushes it to an extreme before the tint
    plain = render(RenderRequest(grey, parse("e_tint:100:red"), source_format="png", requested_format="png"))
    equalized = render(RenderRequest(grey, parse("e_tint:equalize:100:red"), source_format="png", requested_format="png"))
    assert plain.data != equalized.data


def test_overlay_from_the_sdk_lands_in_the_south_east_corner(images: dict[str, str]) -> None:
    image = _render(images, SIZES[16][0])
    red, green, blue = image(512 - 10 - 10, 512 - 10 - 10)[:3]  # inside the 20 px logo, 10 px in from the corner
    assert red > 200 and green < 60 and blue < 60
