"""Any chain the parser accepts renders or answers 400 — never a crash (a 500)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from darkroom.errors import Invalid
from darkroom.imaging import InvalidImage, RenderLimits, RenderRequest, render
from darkroom.transform import ParseError, parse

_ITEMS = [
    "w_60", "h_0.5", "w_1.0", "c_fill", "c_pad", "c_lpad", "c_crop", "c_thumb", "c_fit", "c_limit", "c_mfit", "c_mpad",
    "c_fill_pad", "c_lfill", "c_auto", "g_auto", "g_face", "g_north_east", "g_south", "ar_16:9", "dpr_2.0", "x_10", "y_-5",
    "z_0.75", "e_sepia:60", "e_blur:300", "e_tint:40:red:blue", "e_grayscale", "e_negate", "e_improve", "e_vignette",
    "e_pixelate:5", "e_trim", "e_outline", "e_shadow", "e_hue:40", "e_saturation:-50", "e_make_transparent", "e_oil_paint",
    "e_unsharp_mask", "e_auto_color", "e_blackwhite", "e_gamma:30", "e_contrast:50", "e_vibrance", "e_pixelate_region",
    "q_auto:eco", "q_80", "f_auto", "f_webp", "f_png", "f_gif", "fl_lossy.progressive", "fl_attachment:x", "a_hflip",
    "a_-45", "a_auto_right", "r_max", "r_10:20", "bo_3px_solid_red", "b_rgb:ff0000", "b_auto:predominant", "b_blurred",
    "o_50", "l_logo", "l_text:Arial_20_bold:Hi%252C%20there", "u_logo", "fl_layer_apply", "fl_relative", "co_white",
    "if_w_gt_100", "if_else", "if_end", "$v_30", "w_$v", "w_iw_div_2", "e_replace_color:blue", "e_gradient_fade",
    "e_gradient_fade:symmetric", "pg_2", "e_cartoonify", "e_shear:10:5", "e_multiply", "e_mask", "e_blur_faces", "e_sharpen:500", "b_auto", "c_scale,w_0.3",
]


@st.composite
def _chains(draw: st.DrawFn) -> str:
    components = draw(st.lists(st.lists(st.sampled_from(_ITEMS), min_size=1, max_size=4, unique=True), min_size=1, max_size=3))
    return "/".join(",".join(items) for items in components)


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(_chains(), st.sampled_from(["jpg", "alpha_png", "gif"]), st.sampled_from([None, "png", "webp", "jpg"]))
def test_any_parsed_chain_renders_or_is_a_bad_request(images: dict[str, str], text: str, source: str, fmt: str | None) -> None:
    try:
        chain = parse(text)
    except ParseError:
        return
    source_format = {"jpg": "jpg", "alpha_png": "png", "gif": "gif"}[source]
    try:
        rendered = render(RenderRequest(
            images[source], chain, source_format=source_format, requested_format=fmt, accept="image/webp",
            limits=RenderLimits(max_output_pixels=4_000_000), load_layer=lambda pid: images.get(pid),
        ))
    except InvalidImage as error:  # the sources are valid: a libvips failure is our bug
        raise AssertionError(f"{text}: {error.detail}") from error
    except Invalid:
        return
    assert rendered.data and rendered.width > 0 and rendered.height > 0
