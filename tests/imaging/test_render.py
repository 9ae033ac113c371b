"""Rendering through libvips, judged on pixels: sizes, colours, positions, formats."""

from __future__ import annotations

import pytest
import pyvips

from darkroom.api.errors import status_for
from darkroom.errors import Invalid
from darkroom.imaging import MissingLayer, Rendered, RenderLimits, RenderRequest, TooManyPixels, TooSlow, UnsupportedTransformation, render
from darkroom.imaging.faces import detect_faces
from darkroom.transform import parse

MAGIC = {
    "jpg": lambda b: b[:3] == b"\xff\xd8\xff",
    "png": lambda b: b[:8] == b"\x89PNG\r\n\x1a\n",
    "webp": lambda b: b[:4] == b"RIFF" and b[8:12] == b"WEBP",
    "avif": lambda b: b[4:12] == b"ftypavif",
    "gif": lambda b: b[:6] in (b"GIF87a", b"GIF89a"),
}


def _render(images: dict[str, str], text: str, source: str = "jpg", **options: object) -> Rendered:
    source_format = {"jpg": "jpg", "grey": "png", "alpha_png": "png", "gif": "gif", "astronaut": "jpg", "logo": "png"}[source]
    return render(RenderRequest(images[source], parse(text), source_format=source_format, load_layer=lambda pid: images.get(pid), **options))  # type: ignore[arg-type]


def _decode(rendered: Rendered) -> pyvips.Image:
    return pyvips.Image.new_from_buffer(rendered.data, "")


def _means(image: pyvips.Image) -> list[float]:
    return [image.extract_band(i).avg() for i in range(3)]


# Source is 400×300; every crop mode's exact output size, through the real renderer.
CROP_SIZES = [
    ("c_scale,w_200", (200, 150)),
    ("c_scale,w_100,h_100", (100, 100)),
    ("c_fit,w_200,h_200", (200, 150)),
    ("c_limit,w_1000", (400, 300)),
    ("c_limit,w_200,h_200", (200, 150)),
    ("c_mfit,w_800,h_800", (800, 600)),
    ("c_mfit,w_100,h_100", (400, 300)),
    ("c_fill,w_200,h_200", (200, 200)),
    ("c_fill,g_auto,w_100,h_250", (100, 250)),
    ("c_lfill,w_200,h_200", (200, 200)),
    ("c_lfill,w_800,h_800", (400, 300)),
    ("c_pad,w_200,h_200", (200, 200)),
    ("c_lpad,w_800,h_800", (800, 800)),
    ("c_mpad,w_100,h_100", (400, 300)),
    ("c_mpad,w_800,h_700", (800, 700)),
    ("c_fill_pad,g_auto,w_300,h_100", (300, 100)),
    ("c_crop,w_100,h_50", (100, 50)),
    ("c_crop,w_0.5,h_0.5", (200, 150)),
    ("c_thumb,g_face,w_120,h_120", (120, 120)),
    ("c_auto,g_auto,w_150,h_150", (150, 150)),
    ("w_0.5", (200, 150)),
    ("w_1.0", (400, 300)),
    ("c_fill,ar_16:9,w_320", (320, 180)),
    ("c_fill,w_100,h_100,dpr_2.0", (200, 200)),
    ("c_limit,w_100/dpr_2.0", (200, 150)),
    ("w_iw_div_4", (100, 75)),
    ("a_90", (300, 400)),
    ("bo_5px_solid_red", (410, 310)),
]


@pytest.mark.parametrize(("text", "size"), CROP_SIZES, ids=[row[0] for row in CROP_SIZES])
def test_output_has_the_exact_size(images: dict[str, str], text: str, size: tuple[int, int]) -> None:
    rendered = _render(images, text, requested_format="png")
    decoded = _decode(rendered)
    assert (decoded.width, decoded.height) == size
    assert (rendered.width, rendered.height) == size


def test_grayscale_has_no_chroma(images: dict[str, str]) -> None:
    decoded = _decode(_render(images, "e_grayscale", requested_format="png"))
    red, green, blue = (decoded.extract_band(i).cast("int") for i in range(3))
    assert (red - green).abs().max() <= 1 and (green - blue).abs().max() <= 1
    original = pyvips.Image.new_from_file(images["jpg"])
    assert (original.extract_band(0).cast("int") - original.extract_band(2).cast("int")).abs().max() > 50


def test_sepia_is_warm(images: dict[str, str]) -> None:
    red, green, blue = _means(_decode(_render(images, "e_sepia", "grey", requested_format="png")))
    assert red > green + 10 > blue + 20
    # The level is a tone threshold (ImageMagick's sepia-tone): a lower one gives a lighter
    # picture, still toned, never the original blended back in.
    light = _means(_decode(_render(images, "e_sepia:20", "grey", requested_format="png")))
    assert light[0] >= light[1] > light[2] + 20
    assert sum(light) > red + green + blue


@pytest.mark.parametrize(
    ("text", "check"),
    [
        ("e_negate", lambda before, after: abs(after[0] - (255 - before[0])) < 3),
        ("e_brightness:50", lambda before, after: after[0] > before[0] + 10),
        ("e_contrast:-80", lambda before, after: abs(after[0] - 128) < abs(before[0] - 128)),
        ("e_blackwhite", lambda before, after: after[0] == after[1] == after[2] and before[0] != before[2]),
        ("e_colorize,co_red", lambda before, after: after[0] > after[1] + 50),
        ("e_blue:50", lambda before, after: after[2] > before[2] + 20),
        ("e_tint:100:blue", lambda before, after: after[2] > after[0]),
    ],
)
def test_colour_effects_move_pixels_the_right_way(images: dict[str, str], text: str, check) -> None:  # type: ignore[no-untyped-def]
    before = _means(_decode(_render(images, "", requested_format="png")))
    after = _means(_decode(_render(images, text, requested_format="png")))
    assert check(before, after)


def test_blackwhite_has_two_values(images: dict[str, str]) -> None:
    decoded = _decode(_render(images, "e_blackwhite", requested_format="png"))
    histogram = decoded.extract_band(0).hist_find()
    assert sum(1 for i in range(256) if histogram(i, 0)[0] > 0) == 2


def test_blur_smooths_and_sharpen_adds_detail(images: dict[str, str]) -> None:
    def detail(text: str) -> float:
        decoded = _decode(_render(images, text, "astronaut", requested_format="png")).colourspace("b-w")
        return decoded.sobel().avg()

    plain = detail("")
    assert detail("e_blur:400") < plain * 0.7
    assert detail("e_sharpen:300") > plain * 1.1
    assert detail("e_pixelate:16") < plain


def test_vignette_darkens_the_corners_not_the_centre(images: dict[str, str]) -> None:
    before = _decode(_render(images, "", "grey", requested_format="png"))
    after = _decode(_render(images, "e_vignette:80", "grey", requested_format="png"))
    assert after(2, 2)[0] < before(2, 2)[0] - 30
    assert abs(after(200, 150)[0] - before(200, 150)[0]) < 5


@pytest.mark.parametrize("fmt", ["jpg", "png", "webp", "avif", "gif"])
def test_output_formats_by_magic_bytes(images: dict[str, str], fmt: str) -> None:
    rendered = _render(images, "c_scale,w_100", requested_format=fmt)
    assert MAGIC[fmt](rendered.data) and rendered.format == fmt
    assert rendered.content_type == {"jpg": "image/jpeg"}.get(fmt, f"image/{fmt}")
    assert not rendered.vary_accept


def test_fetch_format_wins_over_the_extension(images: dict[str, str]) -> None:
    rendered = _render(images, "f_webp", requested_format="png")
    assert MAGIC["webp"](rendered.data)


def test_empty_chain_converts_the_format(images: dict[str, str]) -> None:
    rendered = _render(images, "", "logo", requested_format="webp")
    assert MAGIC["webp"](rendered.data) and (rendered.width, rendered.height) == (50, 50)


@pytest.mark.parametrize(
    ("source", "accept", "fmt"),
    [
        ("jpg", "image/avif,image/webp,*/*", "avif"),
        ("jpg", "image/webp,*/*", "webp"),
        ("jpg", "image/avif;q=0,image/webp", "webp"),
        ("jpg", "*/*", "jpg"),
        ("alpha_png", "*/*", "png"),
        ("alpha_png", "image/webp", "webp"),
        ("gif", "image/avif,image/webp", "webp"),
        ("gif", "*/*", "gif"),
    ],
)
def test_f_auto_negotiates_by_accept(images: dict[str, str], source: str, accept: str, fmt: str) -> None:
    rendered = _render(images, "f_auto", source, accept=accept)
    assert rendered.format == fmt and MAGIC[fmt](rendered.data)
    assert rendered.vary_accept


def test_png_keeps_alpha_and_jpeg_flattens_it(images: dict[str, str]) -> None:
    png = _decode(_render(images, "", "alpha_png", requested_format="png"))
    assert png.hasalpha() and png(0, 0)[3] == 0
    jpeg = _decode(_render(images, "b_red", "alpha_png", requested_format="jpg"))
    assert jpeg(0, 0)[0] > 200 and jpeg(0, 0)[1] < 50


def test_quality_auto_levels_measurably_shrink_files(images: dict[str, str]) -> None:
    sizes = [len(_render(images, f"q_auto:{level}", "astronaut", requested_format="jpg").data) for level in ("best", "good", "eco", "low")]
    assert sizes == sorted(sizes, reverse=True) and sizes[-1] < sizes[0] * 0.7
    assert len(_render(images, "q_30", "astronaut").data) < len(_render(images, "q_90", "astronaut").data)


def test_progressive_flag_writes_a_progressive_jpeg(images: dict[str, str]) -> None:
    data = _render(images, "fl_progressive", requested_format="jpg").data
    assert b"\xff\xc2" in data  # SOF2: progressive DCT
    assert b"\xff\xc2" not in _render(images, "", requested_format="jpg").data


def test_face_gravity_keeps_the_face_in_frame(images: dict[str, str]) -> None:
    face = _decode(_render(images, "c_crop,g_face,w_160,h_160", "astronaut", requested_format="png"))
    assert detect_faces(face), "the crop around g_face should contain a face"
    corner = _decode(_render(images, "c_crop,g_south_east,w_160,h_160", "astronaut", requested_format="png"))
    assert not detect_faces(corner)
    thumb = _decode(_render(images, "c_thumb,g_face,w_150,h_150", "astronaut", requested_format="png"))
    assert (thumb.width, thumb.height) == (150, 150) and detect_faces(thumb)
    narrow = _decode(_render(images, "c_fill,g_face,w_120,h_512", "astronaut", requested_format="png"))
    assert detect_faces(narrow)


def test_auto_gravity_follows_the_subject(images: dict[str, str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    canvas = (pyvips.Image.black(600, 200) + [20, 20, 20]).cast("uchar").copy(interpretation="srgb")
    canvas = canvas.draw_circle([255, 200, 0], 520, 100, 40, fill=True)
    path = tmp_path / "subject.png"
    canvas.pngsave(str(path))
    auto = _means(_decode(render(RenderRequest(str(path), parse("c_fill,g_auto,w_200,h_200"), source_format="png"))))
    west = _means(_decode(render(RenderRequest(str(path), parse("c_fill,g_west,w_200,h_200"), source_format="png"))))
    assert auto[0] > west[0] + 20  # the bright disc, not the dark left side


def test_overlay_lands_where_gravity_says(images: dict[str, str]) -> None:
    rendered = _decode(_render(images, "l_logo/fl_layer_apply,g_south_east,x_10,y_10", "grey", requested_format="png"))
    assert rendered(400 - 10 - 25, 300 - 10 - 25)[:3] == [255, 0, 0]
    assert rendered(400 - 5, 300 - 5)[:3] == [128, 128, 128]
    assert rendered(25, 25)[:3] == [128, 128, 128]
    north_west = _decode(_render(images, "fl_layer_apply,g_north_west,l_logo,w_20,x_5,y_5", "grey", requested_format="png"))
    assert north_west(14, 14)[:3] == [255, 0, 0] and north_west(30, 30)[:3] == [128, 128, 128]
    centre = _decode(_render(images, "l_logo", "grey", requested_format="png"))
    assert centre(200, 150)[:3] == [255, 0, 0] and centre(150, 150)[:3] == [128, 128, 128]


def test_layer_components_transform_the_layer_until_layer_apply(images: dict[str, str]) -> None:
    rendered = _decode(_render(images, "l_logo,w_100/e_negate/fl_layer_apply,g_north_west", "grey", requested_format="png"))
    assert rendered(50, 50)[:3] == [0, 255, 255]  # red negated, 100 px wide
    assert rendered(150, 150)[:3] == [128, 128, 128]  # the base was not negated


def test_underlay_shows_through_transparency(images: dict[str, str]) -> None:
    rendered = _decode(_render(images, "u_logo,w_400,h_300,c_scale", "alpha_png", requested_format="png"))
    assert rendered(0, 0)[:3] == [255, 0, 0] and rendered(0, 0)[3] == 255


def test_text_overlay_draws_in_its_colour(images: dict[str, str]) -> None:
    plain = _decode(_render(images, "", "grey", requested_format="png"))
    text = _decode(_render(images, "co_white,l_text:Arial_60_bold:Hello%252C%20World/fl_layer_apply,g_north", "grey", requested_format="png"))
    top, bottom = text.crop(0, 0, 400, 80), text.crop(0, 200, 400, 100)
    assert top.extract_band(0).max() == 255 and top.avg() > plain.crop(0, 0, 400, 80).avg() + 3
    assert bottom.avg() == pytest.approx(plain.crop(0, 200, 400, 100).avg(), abs=0.5)


def test_missing_layer_is_a_bad_request(images: dict[str, str]) -> None:
    with pytest.raises(MissingLayer, match="Unknown or invalid referenced image nope of type upload") as caught:
        _render(images, "l_nope")
    assert status_for(caught.value) == 400


def test_round_corners_are_transparent_in_png(images: dict[str, str]) -> None:
    decoded = _decode(_render(images, "r_max", requested_format="png"))
    assert decoded(0, 0)[3] == 0 and decoded(200, 150)[3] == 255
    rounded = _decode(_render(images, "r_40", requested_format="png"))
    assert rounded(1, 1)[3] == 0 and rounded(60, 1)[3] == 255
    jpeg = _decode(_render(images, "r_max", requested_format="jpg"))
    assert min(jpeg(0, 0)) > 240  # white corners when the format has no alpha


def test_pad_uses_the_background_colour(images: dict[str, str]) -> None:
    red = _decode(_render(images, "c_pad,w_400,h_400,b_red", requested_format="png"))
    assert red(200, 10)[:3] == [255, 0, 0] and red(200, 200)[:3] != [255, 0, 0]
    transparent = _decode(_render(images, "c_pad,w_400,h_400", requested_format="png"))
    assert transparent(200, 10)[3] == 0


def test_angles_and_flips(images: dict[str, str]) -> None:
    original = _decode(_render(images, "", requested_format="png"))
    flipped = _decode(_render(images, "a_hflip", requested_format="png"))
    assert flipped(0, 150) == pytest.approx(original(399, 150), abs=3)
    rotated = _decode(_render(images, "a_45", requested_format="png"))
    assert rotated.width == rotated.height == 495


def test_opacity_scales_alpha(images: dict[str, str]) -> None:
    decoded = _decode(_render(images, "o_40", requested_format="png"))
    assert decoded(10, 10)[3] == pytest.approx(102, abs=1)


def test_animated_gif_keeps_its_frames(images: dict[str, str]) -> None:
    rendered = _render(images, "c_scale,w_60", "gif", requested_format="gif")
    decoded = pyvips.Image.new_from_buffer(rendered.data, "", n=-1)
    assert decoded.get("n-pages") == 3 and decoded.width == 60 and decoded.get("page-height") == 40
    webp = pyvips.Image.new_from_buffer(_render(images, "c_fill,w_50,h_50", "gif", requested_format="webp").data, "", n=-1)
    assert webp.get("n-pages") == 3 and webp.get("page-height") == 50
    still = _render(images, "", "gif", requested_format="jpg")
    assert (still.width, still.height) == (120, 80)


def test_conditions_and_variables(images: dict[str, str]) -> None:
    assert _render(images, "if_w_gt_300,c_scale,w_100").width == 100
    assert _render(images, "if_w_gt_500,c_scale,w_100").width == 400
    assert _render(images, "if_w_lt_300/c_scale,w_50/if_else/c_scale,w_75/if_end").width == 75
    assert _render(images, "$half_iw_div_2/c_scale,w_$half").width == 200


def test_trim_removes_a_uniform_border(images: dict[str, str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    framed = pyvips.Image.new_from_file(images["jpg"]).embed(30, 20, 460, 340, extend="white")
    path = tmp_path / "framed.png"
    framed.pngsave(str(path))
    rendered = render(RenderRequest(str(path), parse("e_trim"), source_format="png"))
    assert abs(rendered.width - 400) <= 4 and abs(rendered.height - 300) <= 4


def test_ai_effects_are_refused_with_a_clear_message(images: dict[str, str]) -> None:
    with pytest.raises(UnsupportedTransformation, match="background_removal") as caught:
        _render(images, "e_background_removal")
    assert status_for(caught.value) == 400


def test_pixel_limits_refuse_before_work(images: dict[str, str]) -> None:
    with pytest.raises(TooManyPixels) as caught:
        _render(images, "", limits=RenderLimits(max_source_pixels=1000))
    assert isinstance(caught.value, Invalid)
    with pytest.raises(TooManyPixels):
        _render(images, "c_scale,w_20000", limits=RenderLimits(max_output_pixels=10_000_000))


def test_effects_in_their_documented_order_render(images: dict[str, str]) -> None:
    text = "e_grayscale/e_improve/e_sepia/e_blur:500/e_sharpen:100/e_vignette:30/c_limit,w_960/f_auto/q_auto"
    rendered = _render(images, text, "astronaut", accept="image/webp")
    assert rendered.format == "webp" and rendered.width == 512


def test_region_effects_change_only_their_region(images: dict[str, str]) -> None:
    before = _decode(_render(images, "", "astronaut", requested_format="png"))
    after = _decode(_render(images, "e_pixelate_region:20,w_100,h_100,x_50,y_60", "astronaut", requested_format="png"))
    assert (after.width, after.height) == (512, 512)
    inside, outside = (50, 60, 100, 100), (300, 300, 100, 100)
    changed = lambda box: (before.crop(*box).cast("int") - after.crop(*box).cast("int")).abs().avg()  # noqa: E731
    assert changed(inside) > 3 and changed(outside) < 0.5


def test_outline_and_shadow_grow_around_the_shape(images: dict[str, str]) -> None:
    outlined = _decode(_render(images, "co_blue,e_outline:outer:4", "alpha_png", requested_format="png"))
    assert (outlined.width, outlined.height) == (208, 108)
    assert outlined(4 + 50 - 2, 4 + 50)[2] > 200 and outlined(4 + 50 - 2, 4 + 50)[3] > 200  # just left of the square
    assert outlined(2, 2)[3] == 0
    shadowed = _decode(_render(images, "e_shadow", "alpha_png", requested_format="png"))
    assert shadowed.width > 200 and shadowed.height > 100


def test_huge_borders_and_text_are_refused_before_work(images: dict[str, str]) -> None:
    with pytest.raises(TooManyPixels):
        _render(images, "bo_9000px_solid_red", limits=RenderLimits(max_output_pixels=10_000_000))
    with pytest.raises(TooManyPixels):
        _render(images, "l_text:Arial_1000:" + "x" * 200, limits=RenderLimits(max_output_pixels=10_000_000))


def test_public_surface_is_pinned() -> None:
    import darkroom.imaging as imaging

    assert sorted(imaging.__all__) == sorted(
        [
            "CONTENT_TYPES", "InvalidImage", "MediaInfo", "MissingLayer", "RenderLimits", "Rendered", "TooManyPixels",
            "TooSlow", "UnsupportedTransformation", "content_type_for", "normalize_format", "probe", "render",
            "RenderedImage", "render_image", "RenderRequest",
        ]
    )


def test_page_selects_one_frame_of_an_animation(images: dict[str, str]) -> None:
    second = _decode(_render(images, "pg_2", "gif", requested_format="png"))
    assert (second.width, second.height) == (120, 80) and second(60, 40)[:3] == [0, 255, 0]
    third = _decode(_render(images, "pg_3,c_scale,w_60", "gif", requested_format="png"))
    assert third.width == 60 and third(30, 20)[2] > 200


def test_client_hints_size_w_auto_and_dpr_auto(images: dict[str, str]) -> None:
    assert _render(images, "c_scale,w_auto", client_width=333).width == 333
    assert _render(images, "c_scale,w_auto:100", client_width=333).width == 400
    assert _render(images, "c_scale,w_auto").width == 400  # no hint: left alone
    assert _render(images, "c_scale,w_100,dpr_auto", client_dpr=3.0).width == 300
    assert _render(images, "c_scale,w_100,dpr_auto").width == 100


def test_face_count_drives_conditions(images: dict[str, str]) -> None:
    with_face = _decode(_render(images, "if_fc_gt_0,e_grayscale", "astronaut", requested_format="png"))
    without = _decode(_render(images, "if_fc_gt_0,e_grayscale", "jpg", requested_format="png"))
    assert with_face(100, 100)[0] == with_face(100, 100)[2]
    assert without(399, 10)[0] != without(399, 10)[2]


def test_auto_right_turns_only_when_orientation_differs(images: dict[str, str]) -> None:
    turned = _render(images, "a_auto_right,c_fit,w_150,h_200")
    assert (turned.width, turned.height) == (150, 200)
    same = _render(images, "a_auto_right,c_fit,w_200,h_150")
    assert (same.width, same.height) == (200, 150)


def test_relative_layer_width_follows_the_base(images: dict[str, str]) -> None:
    for text in ("l_logo,w_0.5,fl_relative/fl_layer_apply,g_west", "fl_layer_apply,fl_relative,g_west,l_logo,w_0.5"):
        rendered = _decode(_render(images, text, "grey", requested_format="png"))
        assert rendered(5, 150)[:3] == [255, 0, 0] and rendered(195, 150)[:3] == [255, 0, 0], text
        assert rendered(205, 150)[:3] == [128, 128, 128], text


def test_exif_orientation_is_applied_unless_a_ignore(images: dict[str, str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    image = pyvips.Image.new_from_file(images["jpg"]).copy()
    image.set_type(pyvips.GValue.gint_type, "orientation", 6)  # stored sideways: display turned 90° clockwise
    path = tmp_path / "sideways.jpg"
    image.jpegsave(str(path))
    upright = render(RenderRequest(str(path), parse(""), source_format="jpg"))
    assert (upright.width, upright.height) == (300, 400)
    assert render(RenderRequest(str(path), parse("c_scale,w_150"), source_format="jpg")).height == 200
    ignored = render(RenderRequest(str(path), parse("a_ignore"), source_format="jpg"))
    assert (ignored.width, ignored.height) == (400, 300)


def test_asset_tags_and_context_feed_conditions(images: dict[str, str]) -> None:
    assert _render(images, "if_!sale!_in_tags,c_scale,w_100", tags=("sale", "new")).width == 100
    assert _render(images, "if_!sale!_in_tags,c_scale,w_100", tags=("new",)).width == 400
    assert _render(images, "$w_ctx:!width!_to_f/c_scale,w_$w", context={"width": "150"}).width == 150


def test_text_style_and_words_come_from_variables(images: dict[str, str]) -> None:
    plain = _decode(_render(images, "", "grey", requested_format="png"))
    styled = _decode(_render(images, "$style_!Arial_60_bold!,$n_42/co_white,l_text:$style:N%20$(n)/fl_layer_apply,g_north", "grey", requested_format="png"))
    assert styled.crop(0, 0, 400, 80).avg() > plain.crop(0, 0, 400, 80).avg() + 3
    with pytest.raises(Invalid):
        _render(images, "l_text:$nostyle:hi")


def test_an_overlay_named_by_a_variable_uses_the_image_the_variable_holds(images: dict[str, str]) -> None:
    rendered = _decode(_render(images, "$img_!logo!/l_$img/fl_layer_apply,g_north_west", "grey", requested_format="png"))
    assert rendered(25, 25)[:3] == [255, 0, 0] and rendered(75, 75)[:3] == [128, 128, 128]
    chosen = _decode(_render(images, "if_w_gt_100/$img_!logo!/if_else/$img_!jpg!/if_end/l_$img/fl_layer_apply,g_north_west", "grey", requested_format="png"))
    assert chosen(25, 25)[:3] == [255, 0, 0]  # the branch that held, not the other assignment
    with pytest.raises(Invalid):
        _render(images, "$n_3/l_$n")  # a number is no public ID
    assert parse("if_w_gt_100/$img_!a!/if_else/$img_!b:c!/if_end/l_$img/l_d").layer_public_ids() == ("a", "b:c", "d")


def test_a_render_past_its_deadline_stops_between_steps(images: dict[str, str]) -> None:
    with pytest.raises(TooSlow) as caught:
        _render(images, "/".join(["e_blur:50"] * 10), limits=RenderLimits(max_seconds=0.0))
    assert status_for(caught.value) == 400
    assert _render(images, "e_blur:50", limits=RenderLimits(max_seconds=30)).width == 400


def test_replace_color_moves_the_matching_colour_only(images: dict[str, str]) -> None:
    rendered = _decode(_render(images, "l_logo/e_replace_color:blue:20:red", "grey", requested_format="png"))
    plain = _decode(_render(images, "l_logo", "grey", requested_format="png"))
    assert plain(200, 150)[:3] == [255, 0, 0]
    assert rendered(200, 150)[2] > 200 and rendered(200, 150)[0] < 50  # the red logo is now blue
    assert rendered(10, 10)[:3] == [128, 128, 128]  # grey was not near red


def test_gradient_fade_makes_one_edge_transparent(images: dict[str, str]) -> None:
    faded = _decode(_render(images, "e_gradient_fade:50", requested_format="png"))
    assert faded(0, 150)[3] == 0 and 100 < faded(100, 150)[3] < 160 and faded(399, 150)[3] == 255
    right = _decode(_render(images, "e_gradient_fade,x_-100", requested_format="png"))
    assert right(399, 150)[3] < 5 and right(0, 150)[3] == 255


def test_layer_blend_modes(images: dict[str, str]) -> None:
    multiplied = _decode(_render(images, "l_logo,e_multiply/fl_layer_apply", "grey", requested_format="png"))
    assert multiplied(200, 150)[:3] == pytest.approx([128, 0, 0], abs=2)  # grey × red
    screened = _decode(_render(images, "l_logo,e_screen", "grey", requested_format="png"))
    assert screened(200, 150)[0] >= 253 and screened(200, 150)[1] == pytest.approx(128, abs=2)
    masked = _decode(_render(images, "l_logo,e_mask", "grey", requested_format="png"))
    assert masked(200, 150)[3] == 255 and masked(10, 10)[3] == 0  # only where the layer is
    cut = _decode(_render(images, "l_logo,e_cut_out", "grey", requested_format="png"))
    assert cut(200, 150)[3] == 0 and cut(10, 10)[3] == 255


def test_shear_skews_onto_a_wider_canvas(images: dict[str, str]) -> None:
    rendered = _decode(_render(images, "e_shear:20:0", requested_format="png"))
    assert rendered.width > 400 + 100 and rendered.height == pytest.approx(300, abs=2)
    assert rendered(rendered.width - 1, 0)[3] == 0 or rendered(0, rendered.height - 1)[3] == 0


def test_cartoonify_flattens_colours_and_draws_lines(images: dict[str, str]) -> None:
    def distinct(image: pyvips.Image) -> int:
        import numpy

        return len(numpy.unique(image.numpy().reshape(-1, 3)[::7], axis=0))

    plain = _decode(_render(images, "", "astronaut", requested_format="png"))
    cartoon = _decode(_render(images, "e_cartoonify", "astronaut", requested_format="png"))
    assert distinct(cartoon) < distinct(plain) / 5
    assert cartoon.extract_band(0).hist_find()(0, 0)[0] > plain.extract_band(0).hist_find()(0, 0)[0]  # more black


def test_overflowing_layers_grow_the_canvas_unless_no_overflow(images: dict[str, str]) -> None:
    grown = _render(images, "l_logo/fl_layer_apply,g_north_west,x_-20,y_-10", "grey", requested_format="png")
    assert (grown.width, grown.height) == (420, 310)
    decoded = _decode(grown)
    assert decoded(0, 0)[:3] == [255, 0, 0] and decoded(419, 309)[3] == 255 and decoded(419, 0)[3] == 0
    clipped = _render(images, "l_logo/fl_layer_apply,fl_no_overflow,g_north_west,x_-20,y_-10", "grey", requested_format="png")
    assert (clipped.width, clipped.height) == (400, 300)
