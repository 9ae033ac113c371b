"""The effects Cloudinary documents beyond the common ones, judged by their pixels: sepia-tone,
blur strength, the art filters, fill light, distortions, red eyes, dithers, colour vision,
vectorizing, themes and the named contrast form; and a clear 400 outside their ranges."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ElementTree

import numpy as np
import pytest
import pyvips

from darkroom.api.errors import status_for
from darkroom.errors import Invalid
from darkroom.imaging import RenderRequest, render
from darkroom.imaging.faces import detect_faces
from darkroom.transform import ParseError, parse
from darkroom.transform.effects import ART_FILTERS

SVG = "{http://www.w3.org/2000/svg}"


def _png(path: str, chain: str, source_format: str = "jpg") -> np.ndarray:
    rendered = render(RenderRequest(path, parse(chain), source_format=source_format, requested_format="png"))
    image = pyvips.Image.new_from_buffer(rendered.data, "")
    if image.bands < 3:
        image = image.colourspace("srgb")
    return np.asarray(image.numpy(), dtype=np.int32)


def _save(array: np.ndarray, path: str) -> str:
    pyvips.Image.new_from_array(array.astype(np.uint8), interpretation="srgb").pngsave(path)
    return path


@pytest.fixture(scope="module")
def pictures(images: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The astronaut, the same photo at 1080 px, a blue photo, red/green halves, a light page."""
    folder = tmp_path_factory.mktemp("breadth")
    astronaut = pyvips.Image.new_from_file(images["astronaut"])
    paths = {"astronaut": images["astronaut"], "big": str(folder / "big.jpg")}
    astronaut.resize(1080 / astronaut.width).jpegsave(paths["big"], Q=92)
    rng = np.random.default_rng(7)
    blue = np.clip(np.array([40, 90, 210]) + rng.normal(0, 25, (120, 160, 3)), 0, 255)
    paths["blue"] = _save(blue, str(folder / "blue.png"))
    halves = np.zeros((100, 200, 3))
    halves[:, :100] = (200, 40, 40)
    halves[:, 100:] = (40, 170, 40)
    paths["red_green"] = _save(halves, str(folder / "red_green.png"))
    page = np.full((120, 200, 3), 250.0)
    page[40:80, 30:170] = (20, 20, 20)  # a dark "line of text" on a light page
    paths["page"] = _save(page, str(folder / "page.png"))
    return paths


# ---------------------------------------------------------------- sepia and blur


@pytest.mark.parametrize("level", [1, 20, 50, 80, 100])
@pytest.mark.parametrize("source", ["astronaut", "blue"])
def test_sepia_tones_the_whole_picture_warm_at_every_level(pictures: dict[str, str], source: str, level: int) -> None:
    pixels = _png(pictures[source], f"e_sepia:{level}", "jpg" if source == "astronaut" else "png")
    red, green, blue = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    assert ((red >= green) & (green >= blue)).mean() > 0.99
    assert red.mean() - blue.mean() > 25  # clearly warm on average


def test_a_blue_photo_is_no_longer_blue_after_default_sepia(pictures: dict[str, str]) -> None:
    before = _png(pictures["blue"], "c_scale,w_1.0", "png")
    after = _png(pictures["blue"], "e_sepia", "png")
    assert before[..., 2].mean() > before[..., 0].mean() + 100
    assert after[..., 0].mean() > after[..., 2].mean() + 40
    assert np.array_equal(after, _png(pictures["blue"], "e_sepia:80", "png"))


def _edge_energy(pixels: np.ndarray) -> float:
    grey = pixels[..., :3].mean(axis=2)
    return float(np.abs(np.diff(grey, axis=0)).mean() + np.abs(np.diff(grey, axis=1)).mean())


def test_default_blur_is_cloudinarys_strength_100_and_strong(pictures: dict[str, str]) -> None:
    original = _edge_energy(_png(pictures["big"], "c_scale,w_1.0"))
    default = _png(pictures["big"], "e_blur")
    assert np.array_equal(default, _png(pictures["big"], "e_blur:100"))
    assert _edge_energy(default) < 0.4 * original  # a 1080 px photo loses its texture and edges


def test_blur_grows_with_its_strength(pictures: dict[str, str]) -> None:
    energies = [_edge_energy(_png(pictures["big"], f"e_blur:{strength}")) for strength in (20, 100, 500, 2000)]
    assert energies == sorted(energies, reverse=True) and energies[0] > 1.5 * energies[1]
    assert energies[-1] < 0.1 * energies[1]  # 2000: nearly flat, and still bounded in cost


# ---------------------------------------------------------------- art filters


def test_every_art_filter_renders_its_own_look(pictures: dict[str, str]) -> None:
    plain = _png(pictures["astronaut"], "c_scale,w_1.0")
    looks = {name: _png(pictures["astronaut"], f"e_art:{name}") for name in sorted(ART_FILTERS)}
    assert len(looks) == 21
    for name, pixels in looks.items():
        assert pixels.shape == plain.shape and np.abs(pixels - plain).mean() > 4, name
    for (a, first), (b, second) in itertools.combinations(looks.items(), 2):
        assert np.abs(first - second).mean() > 1, (a, b)


def test_art_filters_have_their_character(pictures: dict[str, str]) -> None:
    plain = _png(pictures["astronaut"], "c_scale,w_1.0")
    warmth = plain[..., 0].mean() - plain[..., 2].mean()
    for name in ("audrey", "zorro"):  # black and white
        pixels = _png(pictures["astronaut"], f"e_art:{name}")
        assert np.abs(pixels[..., 0] - pixels[..., 2]).max() <= 2, name
    for name in ("frost", "aurora"):  # cool
        pixels = _png(pictures["astronaut"], f"e_art:{name}")
        assert pixels[..., 0].mean() - pixels[..., 2].mean() < warmth - 15, name
    for name in ("red_rock", "sizzle", "fes"):  # warm
        pixels = _png(pictures["astronaut"], f"e_art:{name}")
        assert pixels[..., 0].mean() - pixels[..., 2].mean() > warmth + 15, name
    assert _png(pictures["astronaut"], "e_art:incognito").mean() < plain.mean() - 20  # dark


# ---------------------------------------------------------------- tones


def test_fill_light_lifts_shadows_more_than_highlights(pictures: dict[str, str]) -> None:
    plain = _png(pictures["astronaut"], "c_scale,w_1.0").mean(axis=2)
    lit = _png(pictures["astronaut"], "e_fill_light").mean(axis=2)
    shadows, highlights = (plain > 30) & (plain < 90), plain > 220
    assert (lit - plain)[shadows].mean() > 12
    assert abs((lit - plain)[highlights].mean()) < 4
    more = _png(pictures["astronaut"], "e_fill_light:100:100").mean(axis=2)
    less = _png(pictures["astronaut"], "e_fill_light:100:-100").mean(axis=2)
    assert more[shadows].mean() > lit[shadows].mean() > less[shadows].mean()
    half = _png(pictures["astronaut"], "e_fill_light:50").mean(axis=2)
    assert plain[shadows].mean() < half[shadows].mean() < lit[shadows].mean()


def test_contrast_level_and_type(pictures: dict[str, str]) -> None:
    plain = _png(pictures["astronaut"], "c_scale,w_1.0")
    sigmoidal = _png(pictures["astronaut"], "e_contrast:level_60;type_sigmoidal")
    linear = _png(pictures["astronaut"], "e_contrast:level_60;type_linear")
    flatter = _png(pictures["astronaut"], "e_contrast:level_-60")
    assert sigmoidal.std() > plain.std() + 5 and linear.std() > plain.std() + 5
    assert flatter.std() < plain.std() - 5
    clipped = lambda pixels: ((pixels == 0) | (pixels == 255)).mean()  # noqa: E731
    assert clipped(sigmoidal) < clipped(linear)  # an S-curve never clips the way a stretch does
    assert np.array_equal(_png(pictures["astronaut"], "e_contrast:level_60"), sigmoidal)  # sigmoidal is the named form's default


# ---------------------------------------------------------------- geometry


def test_distort_moves_the_four_corners(pictures: dict[str, str]) -> None:
    pixels = _png(pictures["astronaut"], "e_distort:40:25:280:60:260:155:35:165")
    assert pixels.shape == (165 - 25, 280 - 35, 4)  # the corners' bounding box
    alpha = pixels[..., 3]
    assert alpha[0, -1] == 0 and alpha[-1, -1] == 0  # outside the quadrilateral
    assert alpha[70, 120] == 255  # inside it
    assert alpha[0, 40 - 35 + 2] > 0  # near the top-left corner's new place (40, 25)


@pytest.mark.parametrize(("degrees", "open_side"), [(180, "bottom"), (-180, "top")])
def test_distort_arc_bends_the_picture(pictures: dict[str, str], degrees: int, open_side: str) -> None:
    pixels = _png(pictures["astronaut"], f"e_distort:arc:{degrees}")
    height, width = pixels.shape[:2]
    alpha = pixels[..., 3]
    assert width > 1.5 * height  # half a disc: twice as wide as tall
    top_corners, bottom_corners = (alpha[0, 0], alpha[0, -1]), (alpha[-1, 0], alpha[-1, -1])
    outside = top_corners if open_side == "bottom" else bottom_corners
    assert outside == (0, 0)
    assert alpha[height // 2, width // 2] == 255


def test_distort_arc_360_closes_a_ring(pictures: dict[str, str]) -> None:
    pixels = _png(pictures["astronaut"], "e_distort:arc:360")
    height, width = pixels.shape[:2]
    assert abs(height - width) <= 2 and pixels[..., 3][0, 0] == 0 and pixels[..., 3][height // 2, width // 10] == 255


# ---------------------------------------------------------------- retouching


def test_redeye_removes_red_inside_faces_only(pictures: dict[str, str], tmp_path: pytest.TempPathFactory) -> None:
    photo = pyvips.Image.new_from_file(pictures["astronaut"])
    (face,) = detect_faces(photo)[:1]
    array = np.asarray(photo.numpy(), dtype=np.int32).copy()
    eyes = [(face.left + face.width * 3 // 10, face.top + face.height * 2 // 5), (face.left + face.width * 7 // 10, face.top + face.height * 2 // 5)]
    for x, y in eyes + [(40, 460)]:  # two pupils, and a red dot far from the face
        array[y - 4 : y + 5, x - 4 : x + 5] = (220, 20, 25)
    path = _save(array, f"{tmp_path}/redeye.png")
    fixed = _png(path, "e_redeye", "png")
    for x, y in eyes:
        red, green, blue = fixed[y, x, :3]
        assert red < 60, (x, y, fixed[y, x])
    assert tuple(fixed[460, 40, :3]) == (220, 20, 25)  # not in a face: untouched
    untouched = np.ones(array.shape[:2], bool)
    for x, y in eyes:
        untouched[y - 12 : y + 13, x - 12 : x + 13] = False
    assert np.abs(fixed[..., :3] - array)[untouched].max() <= 1


def test_theme_swaps_the_background_and_keeps_text_readable(pictures: dict[str, str]) -> None:
    dark = _png(pictures["page"], "e_theme:color_black", "png")
    assert dark[5, 5, :3].max() < 20  # the light page became the theme's black
    assert dark[60, 100, :3].min() > 200  # the dark text turned light: still readable
    blue = _png(pictures["page"], "e_theme:color_blue:photosensitivity_50", "png")
    assert tuple(blue[5, 5, :3]) == (0, 0, 255)


# ---------------------------------------------------------------- dithers and colour vision


@pytest.mark.parametrize("level", [0, 1, 2, 3, 5, 8, 12, 13, 18])
def test_ordered_dither_leaves_only_on_and_off_channels(pictures: dict[str, str], level: int) -> None:
    plain = _png(pictures["astronaut"], "c_scale,w_1.0")
    dithered = _png(pictures["astronaut"], f"e_ordered_dither:{level}")
    assert set(np.unique(dithered[..., :3])) <= {0, 255}
    if level > 0:  # a threshold map keeps the average tone
        assert abs(dithered.mean() - plain.mean()) < 16


def test_ordered_dither_levels_differ(pictures: dict[str, str]) -> None:
    patterns = [_png(pictures["astronaut"], f"e_ordered_dither:{level}") for level in (2, 5, 9, 14)]
    for first, second in itertools.combinations(patterns, 2):
        assert not np.array_equal(first, second)


def test_simulated_colour_blindness_confuses_red_and_green(pictures: dict[str, str]) -> None:
    def red_green_contrast(pixels: np.ndarray) -> int:
        """How far apart the red-green opponent signal of the two halves is."""
        red_half, green_half = pixels[50, 50, :3], pixels[50, 150, :3]
        return abs(int(red_half[0] - red_half[1]) - int(green_half[0] - green_half[1]))

    assert red_green_contrast(_png(pictures["red_green"], "c_scale,w_1.0", "png")) > 250
    for condition in ("deuteranopia", "protanopia"):
        assert red_green_contrast(_png(pictures["red_green"], f"e_simulate_colorblind:{condition}", "png")) < 40, condition
    assert np.array_equal(
        _png(pictures["red_green"], "e_simulate_colorblind", "png"), _png(pictures["red_green"], "e_simulate_colorblind:deuteranopia", "png")
    )
    grey = _png(pictures["astronaut"], "e_simulate_colorblind:rod_monochromacy")
    assert np.abs(grey[..., 0] - grey[..., 2]).max() <= 1
    tritan = _png(pictures["astronaut"], "e_simulate_colorblind:tritanopia")
    assert np.abs(tritan - _png(pictures["astronaut"], "c_scale,w_1.0")).mean() > 3


def test_assist_colorblind_stripes_reds_and_greens_differently(pictures: dict[str, str]) -> None:
    striped = _png(pictures["red_green"], "e_assist_colorblind:60", "png")
    red_half, green_half = striped[:, 10:90, :3].mean(axis=2), striped[:, 110:190, :3].mean(axis=2)
    assert red_half.std() > 15 and green_half.std() > 15  # flat colours now carry stripes
    # "/" over red: shifting one row moves the pattern one column left; "\" over green, right.
    assert np.abs(red_half[1:, :-1] - red_half[:-1, 1:]).mean() < np.abs(red_half[1:, 1:] - red_half[:-1, :-1]).mean()
    assert np.abs(green_half[1:, 1:] - green_half[:-1, :-1]).mean() < np.abs(green_half[1:, :-1] - green_half[:-1, 1:]).mean()
    weak = _png(pictures["red_green"], "e_assist_colorblind", "png")[:, 10:90, :3].mean(axis=2)
    assert weak.std() < red_half.std()


def test_assist_colorblind_xray_separates_what_deuteranopes_confuse(pictures: dict[str, str], tmp_path: pytest.TempPathFactory) -> None:
    shifted = _png(pictures["red_green"], "e_assist_colorblind:xray", "png")
    path = _save(shifted[..., :3], f"{tmp_path}/shifted.png")
    before = _png(pictures["red_green"], "e_simulate_colorblind", "png")
    after = _png(path, "e_simulate_colorblind", "png")

    def blue_gap(pixels: np.ndarray) -> int:  # the red-green difference, moved where they see it
        return abs(int(pixels[50, 50, 2]) - int(pixels[50, 150, 2]))

    assert blue_gap(after) > 2 * blue_gap(before)


# ---------------------------------------------------------------- vectorize


def test_vectorize_delivers_a_safe_svg_of_paths(pictures: dict[str, str]) -> None:
    rendered = render(RenderRequest(pictures["astronaut"], parse("e_vectorize:colors:4:detail:0.5"), source_format="jpg", requested_format="svg"))
    assert rendered.format == "svg" and rendered.content_type == "image/svg+xml"
    root = ElementTree.fromstring(rendered.data)
    assert root.tag == f"{SVG}svg" and (root.get("width"), root.get("height")) == ("512", "512")
    tags = {element.tag for element in root.iter()}
    assert tags == {f"{SVG}svg", f"{SVG}g", f"{SVG}path"}
    for element in root.iter():
        assert all(not name.startswith("on") and "href" not in name for name in element.attrib)
    fills = {path.get("fill") for path in root.iter(f"{SVG}path")}
    assert 2 <= len(fills) <= 4 and len(list(root.iter(f"{SVG}path"))) > 10
    drawn = pyvips.Image.svgload_buffer(rendered.data)  # it draws as the picture, at its size
    photo = np.asarray(pyvips.Image.new_from_file(pictures["astronaut"]).numpy(), dtype=np.int32)
    traced = np.asarray(drawn.flatten(background=[255, 255, 255]).numpy(), dtype=np.int32)
    assert traced.shape == photo.shape and np.abs(traced - photo).mean() < 45


def test_vectorize_in_a_raster_format_has_the_traced_look(pictures: dict[str, str]) -> None:
    pixels = _png(pictures["astronaut"], "e_vectorize:3")
    assert pixels.shape[:2] == (512, 512)
    _, counts = np.unique(pixels[..., :3].reshape(-1, 3), axis=0, return_counts=True)
    assert np.sort(counts)[-3:].sum() > 0.8 * counts.sum()  # three flat colours, plus anti-aliased edges


def test_svg_is_not_an_output_without_vectorize(pictures: dict[str, str]) -> None:
    with pytest.raises(Invalid, match="svg"):
        render(RenderRequest(pictures["astronaut"], parse("e_sepia"), source_format="jpg", requested_format="svg"))


# ---------------------------------------------------------------- ranges


@pytest.mark.parametrize(
    "text",
    [
        "e_sepia:0", "e_sepia:101", "e_blur:0", "e_blur:2001",
        "e_art:nope", "e_art", "e_art:zorro:1",
        "e_fill_light:101", "e_fill_light:50:-101",
        "e_distort:arc:0", "e_distort:arc:361", "e_distort:1:2:3", "e_distort:1:2:3:4:5:6:7:x",
        "e_redeye:5", "e_ordered_dither:19", "e_ordered_dither:-1",
        "e_simulate_colorblind:colorful", "e_assist_colorblind:0", "e_assist_colorblind:101",
        "e_vectorize:1", "e_vectorize:31", "e_vectorize:10:1001", "e_vectorize:colors:5:shapes:3", "e_vectorize:colors",
        "e_theme:color_nocolour", "e_theme:photosensitivity_50", "e_theme:color_black:photosensitivity_201",
        "e_contrast:101", "e_contrast:level_101", "e_contrast:level_50;type_curvy", "e_contrast:type_linear;shape_2",
    ],
)
def test_arguments_outside_cloudinarys_ranges_are_a_clear_400(text: str) -> None:
    with pytest.raises(ParseError, match="Invalid effect"):
        parse(text)


def test_a_parse_error_is_a_400() -> None:
    assert issubclass(ParseError, Invalid)
    with pytest.raises(ParseError) as refused:
        parse("e_sepia:101")
    assert status_for(refused.value) == 400  # the status the API answers with



@pytest.mark.parametrize(
    "text",
    ["e_contrast:$v", "e_simulate_colorblind:$v", "e_assist_colorblind:$v", "e_art:$v", "e_vectorize:$v", "e_theme:$v",
     "e_distort:arc:$v", "e_distort:$a:1:2:3:4:5:6:7", "e_ordered_dither:$v", "e_fill_light:$v"],
)
def test_an_argument_the_parser_could_not_check_is_a_400_when_rendered(pictures: dict[str, str], text: str) -> None:
    with pytest.raises(Invalid, match="Invalid effect parameter"):
        _png(pictures["astronaut"], text)
