"""Table-driven tests: URL text → AST → canonical text, and the errors a user sees."""

from __future__ import annotations

import pytest

import darkroom.transform as transform
from darkroom.api.errors import status_for
from darkroom.errors import Invalid
from darkroom.transform import (
    AspectRatio,
    AutoSize,
    Background,
    Border,
    Chain,
    Component,
    Effect,
    Expression,
    Flag,
    Layer,
    ParseError,
    Pixels,
    Quality,
    Radius,
    Relative,
    TextStyle,
    Variable,
    looks_like_transformation,
    parse,
)
from darkroom.transform.canonical import canonicalize
from darkroom.transform.serializer import serialize

# (URL text, the single component it parses to, the canonical text)
COMPONENTS = [
    ("w_300", Component(width=Pixels(300)), "w_300"),
    ("w_1", Component(width=Pixels(1)), "w_1"),
    ("w_1.0", Component(width=Relative(1.0)), "w_1.0"),
    ("w_0.5,h_1.5", Component(width=Relative(0.5), height=Relative(1.5)), "h_1.5,w_0.5"),
    ("w_auto", Component(width=AutoSize()), "w_auto"),
    ("w_auto:100:400", Component(width=AutoSize(("100", "400"))), "w_auto:100:400"),
    ("w_iw_div_2", Component(width=Expression("iw_div_2")), "w_iw_div_2"),
    ("w_960,c_limit,q_auto,f_auto", Component(width=Pixels(960), crop="limit", quality=Quality(auto="good"), fetch_format="auto"), "c_limit,f_auto,q_auto,w_960"),
    ("c_fill,w_960,h_600,g_auto", Component(crop="fill", width=Pixels(960), height=Pixels(600), gravity="auto"), "c_fill,g_auto,h_600,w_960"),
    ("q_auto:good", Component(quality=Quality(auto="good")), "q_auto"),
    ("q_auto:eco", Component(quality=Quality(auto="eco")), "q_auto:eco"),
    ("q_80:444", Component(quality=Quality(level=80, modifier="444")), "q_80:444"),
    ("dpr_2", Component(dpr=2.0), "dpr_2.0"),
    ("dpr_auto", Component(dpr="auto"), "dpr_auto"),
    ("ar_16:9", Component(aspect_ratio=AspectRatio(16, 9)), "ar_16:9"),
    ("ar_1.5", Component(aspect_ratio=AspectRatio(1.5)), "ar_3:2"),
    ("e_sepia", Component(effects=(Effect("sepia"),)), "e_sepia"),
    ("e_sepia:80", Component(effects=(Effect("sepia"),)), "e_sepia"),
    ("e_sepia:60", Component(effects=(Effect("sepia", ("60",)),)), "e_sepia:60"),
    ("e_tint:40:red:blue", Component(effects=(Effect("tint", ("40", "red", "blue")),)), "e_tint:40:red:blue"),
    ("e_improve:indoor:50", Component(effects=(Effect("improve", ("indoor", "50")),)), "e_improve:indoor:50"),
    ("b_rgb:FF0000", Component(background=Background("color", color="rgb:ff0000")), "b_rgb:ff0000"),
    ("b_rgb:F00", Component(background=Background("color", color="rgb:ff0000")), "b_rgb:ff0000"),
    ("b_auto", Component(background=Background("auto", args=("border",))), "b_auto:border"),
    ("b_blurred:400:15", Component(background=Background("blurred", args=("400", "15"))), "b_blurred:400:15"),
    ("bo_3px_solid_rgb:ff0000", Component(border=Border(3, "solid", "rgb:ff0000")), "bo_3px_solid_rgb:ff0000"),
    ("r_max", Component(radius=Radius(is_max=True)), "r_max"),
    ("r_10:20:30:40", Component(radius=Radius((10, 20, 30, 40))), "r_10:20:30:40"),
    ("a_auto_right.hflip", Component(angle=("auto_right", "hflip")), "a_auto_right.hflip"),
    ("a_-45", Component(angle=(-45,)), "a_-45"),
    ("fl_progressive.lossy", Component(flags=(Flag("lossy"), Flag("progressive"))), "fl_lossy.progressive"),
    ("fl_layer_apply,fl_no_overflow", Component(flags=(Flag("layer_apply"), Flag("no_overflow"))), "fl_layer_apply.no_overflow"),
    ("fl_attachment:my_file", Component(flags=(Flag("attachment", "my_file"),)), "fl_attachment:my_file"),
    ("o_0", Component(opacity=0), "o_0"),
    ("x_0,y_-10", Component(x=Pixels(0), y=Pixels(-10)), "x_0,y_-10"),
    ("f_jpeg", Component(fetch_format="jpg"), "f_jpg"),
    ("l_sample", Component(overlay=Layer("image", public_id="sample")), "l_sample"),
    ("l_brand:logo.png", Component(overlay=Layer("image", public_id="brand/logo", format="png")), "l_brand:logo.png"),
    ("l_private:logo", Component(overlay=Layer("image", public_id="logo", delivery_type="private")), "l_private:logo"),
    ("u_sample", Component(underlay=Layer("image", public_id="sample")), "u_sample"),
    (
        "l_fetch:aHR0cHM6Ly9leGFtcGxlLmNvbS9sb2dvLnBuZw==",
        Component(overlay=Layer("fetch", url="https://example.com/logo.png")),
        "l_fetch:aHR0cHM6Ly9leGFtcGxlLmNvbS9sb2dvLnBuZw==",
    ),
    (
        "l_text:Arial_40_bold:Hello%252C%20World%252F50%25%20off",
        Component(overlay=Layer("text", text="Hello, World/50% off", style=TextStyle("Arial", 40, font_weight="bold"))),
        "l_text:Arial_40_bold:Hello%252C%20World%252F50%25%20off",
    ),
    ("l_text:Arial_12:50% off", Component(overlay=Layer("text", text="50% off", style=TextStyle("Arial", 12))), "l_text:Arial_12:50%25%20off"),
    (
        "l_text:Arial_12:%252541%2520is%2520A",
        Component(overlay=Layer("text", text="%41 is A", style=TextStyle("Arial", 12))),
        "l_text:Arial_12:%252541%20is%20A",
    ),
    (
        "l_text:Arial_12_italic_underline_stroke_letter_spacing_4:Hi",
        Component(overlay=Layer("text", text="Hi", style=TextStyle("Arial", 12, font_style="italic", text_decoration="underline", stroke=True, letter_spacing=4.0))),
        "l_text:Arial_12_italic_underline_stroke_letter_spacing_4.0:Hi",
    ),
    ("if_w_gt_400,c_scale,w_400", Component(condition="w_gt_400", crop="scale", width=Pixels(400)), "if_w_gt_400,w_400"),
    ("if_!sale!_in_tags", Component(condition="!sale!_in_tags"), "if_!sale!_in_tags"),
    ("$z_5,$foo_$z_mul_2", Component(variables=(Variable("$z", "5"), Variable("$foo", "$z_mul_2"))), "$z_5,$foo_$z_mul_2"),
    ("so_35p,eo_90p,vc_h264:basic:3.1,ac_none", Component(start_offset="35p", end_offset="90p", video_codec="h264:basic:3.1", audio_codec="none"), "ac_none,eo_90p,so_35p,vc_h264:basic:3.1"),
    ("dn_150,pg_2", Component(density=150, page="2"), "dn_150,pg_2"),
    ("c_thumb,g_face,h_150,w_150,z_0.75", Component(crop="thumb", gravity="face", height=Pixels(150), width=Pixels(150), zoom=0.75), "c_thumb,g_face,h_150,w_150,z_0.75"),
]


@pytest.mark.parametrize(("text", "component", "canonical"), COMPONENTS, ids=[row[0] for row in COMPONENTS])
def test_component_parses_to_ast_and_canonical_text(text: str, component: Component, canonical: str) -> None:
    chain = parse(text)
    assert chain == Chain((component,))
    assert chain.canonical() == canonical
    assert parse(canonical) == canonicalize(chain)
    assert parse(serialize(chain)) == chain


# Every example URL in the reference (§1, §2, §7): transformation part, canonical form.
DOCUMENTED = [
    ("c_fill,g_face,w_200", "c_fill,g_face,w_200"),
    ("f_webp", "f_webp"),
    ("c_limit,w_300/f_auto/q_auto", "c_limit,w_300/f_auto/q_auto"),
    ("c_scale,w_640", "w_640"),
    ("so_auto", "so_auto"),
    ("if_w_gt_400,$small_150,c_fill,e_sepia:60,f_auto,g_auto,h_200,q_auto,w_300,e_grayscale",
     "if_w_gt_400,$small_150,c_fill,e_sepia:60,e_grayscale,f_auto,g_auto,h_200,q_auto,w_300"),
    ("$first_2,$second_1,$z_5,$foo_$z_mul_2", "$first_2,$second_1,$z_5,$foo_$z_mul_2"),
    ("c_fill,w_400/e_grayscale/q_auto", "c_fill,w_400/e_grayscale/q_auto"),
    ("c_scale,w_200/c_limit,w_auto", "w_200/c_limit,w_auto"),
    ("if_w_gte_100_or_h_lte_50", "if_w_gte_100_or_h_lte_50"),
    ("w_iw_div_2", "w_iw_div_2"),
    ("w_iw_pow_2", "w_iw_pow_2"),
    ("h_3_mul_ih_add_$aheight", "h_3_mul_ih_add_$aheight"),
    ("if_w_gt_400/c_scale,w_400/if_else/e_sepia/if_end", "if_w_gt_400/w_400/if_else/e_sepia/if_end"),
    ("$efname_!blur!,e_$efname:100", "$efname_!blur!,e_$efname:100"),
    ("$style_!Arial_12!/l_text:$style:hello-world", "$style_!Arial_12!/l_text:$style:hello-world"),
    ("$xpos_ctx:!x_pos!_to_f", "$xpos_ctx:!x_pos!_to_f"),
    ("e_replace_color:maroon:80:2b38aa", "e_replace_color:maroon:80:2b38aa"),
    ("c_scale,l_logo,w_80/fl_layer_apply,g_south_east,x_10,y_10", "l_logo,w_80/fl_layer_apply,g_south_east,x_10,y_10"),
    ("fl_layer_apply,g_south_east,l_sample,w_100,x_10,y_10", "fl_layer_apply,g_south_east,l_sample,w_100,x_10,y_10"),
    ("c_limit,w_960/f_auto/q_auto", "c_limit,w_960/f_auto/q_auto"),
    ("c_fill,w_960,h_600,g_auto/f_auto/q_auto", "c_fill,g_auto,h_600,w_960/f_auto/q_auto"),
    ("c_auto,w_500,h_500,g_auto/c_limit,w_500/f_auto/q_auto", "c_auto,g_auto,h_500,w_500/c_limit,w_500/f_auto/q_auto"),
    ("c_limit,w_960/dpr_2.0/f_auto/q_auto", "c_limit,w_960/dpr_2.0/f_auto/q_auto"),
    ("e_grayscale/e_improve/e_sepia/c_limit,w_960/f_auto/q_auto", "e_grayscale/e_improve/e_sepia/c_limit,w_960/f_auto/q_auto"),
    ("e_blur:500/e_sharpen:100/e_vignette:30/c_limit,w_960", "e_blur:500/e_sharpen/e_vignette:30/c_limit,w_960"),
    ("e_background_removal/c_limit,w_960/f_png/q_auto", "e_background_removal/c_limit,w_960/f_png/q_auto"),
    ("l_logo,w_100/fl_layer_apply,fl_no_overflow,g_north_east,x_10,y_10/c_limit,w_960",
     "l_logo,w_100/fl_layer_apply.no_overflow,g_north_east,x_10,y_10/c_limit,w_960"),
    ("l_text:Arial_40_bold:Hello%252C%20World,co_white/fl_layer_apply,fl_no_overflow",
     "co_white,l_text:Arial_40_bold:Hello%252C%20World/fl_layer_apply.no_overflow"),
    ("c_fill,f_auto,g_auto,h_200,q_auto,w_300", "c_fill,f_auto,g_auto,h_200,q_auto,w_300"),
    ("e_improve:indoor:50", "e_improve:indoor:50"),
    ("e_vignette:30", "e_vignette:30"),
    ("c_thumb,g_face,h_150,w_150,z_0.75", "c_thumb,g_face,h_150,w_150,z_0.75"),
    ("r_max,c_fill,w_200,h_200,g_face", "c_fill,g_face,h_200,r_max,w_200"),
    ("c_fill,h_180,so_5,w_320", "c_fill,h_180,so_5,w_320"),
    ("ac_none,eo_8,q_auto,so_2,vc_auto", "ac_none,eo_8,q_auto,so_2,vc_auto"),
    ("c_fill,h_200,w_300", "c_fill,h_200,w_300"),
    ("c_fill,w_400/e_sepia", "c_fill,w_400/e_sepia"),
    ("l_subtitles:Arial_40:sample_sub_he.srt", "l_subtitles:Arial_40:sample_sub_he.srt"),  # the font is kept: it changes the burned-in picture
    ("b_black,co_yellow,l_subtitles:Arial_20:folder:sub.vtt", "b_black,co_yellow,l_subtitles:Arial_20:folder:sub.vtt"),
    ("q_auto/f_auto:video", "q_auto/f_auto:video"),
    ("q_auto/fl_sprite", "q_auto/fl_sprite"),
]


@pytest.mark.parametrize(("text", "canonical"), DOCUMENTED, ids=[row[0] for row in DOCUMENTED])
def test_documented_examples_parse_and_round_trip(text: str, canonical: str) -> None:
    chain = parse(text)
    assert chain.canonical() == canonical
    assert parse(canonical) == canonicalize(chain)
    assert parse(serialize(chain)) == chain


def test_order_inside_a_component_carries_no_meaning() -> None:
    assert parse("w_960,c_limit,q_auto,f_auto") == parse("c_limit,f_auto,q_auto,w_960")
    assert parse("c_fill,w_960,h_600,g_auto").canonical() == parse("g_auto,h_600,w_960,c_fill").canonical()


def test_equivalent_spellings_share_one_cache_key() -> None:
    assert parse("e_sepia:80").canonical() == parse("e_sepia").canonical()
    assert parse("b_rgb:FF0000").canonical() == parse("b_red").canonical().replace("red", "rgb:ff0000")
    assert parse("dpr_2").canonical() == parse("dpr_2.0").canonical()
    assert parse("q_auto:good").canonical() == parse("q_auto").canonical()


# Spellings of one picture (Cloudinary's defaults written out): one canonical text each.
EQUIVALENT = [
    ("c_scale,w_300", "w_300"),
    ("c_scale,h_200", "h_200"),
    ("c_scale,w_300,h_200", "h_200,w_300"),
    ("c_scale,w_auto", "w_auto"),
    ("c_scale,w_0.5", "w_0.5"),
    ("c_scale,l_logo,w_80", "l_logo,w_80"),
    ("c_fill,g_center,w_300,h_200", "c_fill,h_200,w_300"),
    ("c_pad,g_center,w_300,h_200,b_black", "b_black,c_pad,h_200,w_300"),
    ("c_lfill,g_center,w_300,h_200", "c_lfill,h_200,w_300"),
    ("c_thumb,g_face,w_100,h_100,z_1.0", "c_thumb,g_face,h_100,w_100"),
    ("c_thumb,g_face,w_100,h_100,z_1", "c_thumb,g_face,h_100,w_100"),
    ("ar_32:18,c_fill,w_320", "ar_16:9,c_fill,w_320"),
    ("ar_2:1,c_fill,w_300", "ar_2,c_fill,w_300"),
    ("ar_2.0,c_fill,w_300", "ar_2,c_fill,w_300"),
    ("ar_1.5,c_fill,w_300", "ar_3:2,c_fill,w_300"),
    ("ar_1.0,c_fill,w_300", "ar_1,c_fill,w_300"),
    ("r_10:10:10:10", "r_10"),
    ("r_10:10", "r_10"),
    ("r_10:20:10:20", "r_10:20"),
    ("r_10:20:30:20", "r_10:20:30"),
    ("r_0,w_300", "w_300"),
    ("r_0:0:0:0/e_sepia", "e_sepia"),
    ("bo_0px_solid_red,w_300", "w_300"),
    ("a_0,w_300", "w_300"),
    ("a_0/c_fill,w_300", "c_fill,w_300"),
]


@pytest.mark.parametrize(("text", "canonical"), EQUIVALENT, ids=[row[0] for row in EQUIVALENT])
def test_defaults_written_out_share_the_cache_key_of_the_short_form(text: str, canonical: str) -> None:
    assert parse(text).canonical() == canonical == parse(canonical).canonical()


# Look alike, but not certainly the same picture in Cloudinary: each keeps its own key.
NOT_FOLDED = [
    ("c_scale", "the default crop mode needs a size to be the default"),
    ("c_scale,ar_16:9", "no size: scale is not implied"),
    ("c_crop,g_center,w_100,x_10", "c_crop: x/y without a gravity are the top-left corner"),
    ("c_auto,g_center,w_100,h_100", "c_auto: no gravity means g_auto"),
    ("c_fill,g_center,w_100,h_100,x_10", "x/y may mean another thing without a gravity"),
    ("c_scale,e_pixelate_region,w_100", "w/h place a region, not a size"),
    ("dpr_1.0,w_300", "a component's dpr overrides a standalone one elsewhere"),
    ("o_100", "adds an alpha channel"),
    ("a_360", "kept literal"),
    ("ar_16:9,c_fill,w_300", "ar_1.7777777777777777 is the same float but not the same text"),
]


@pytest.mark.parametrize(("text", "why"), NOT_FOLDED, ids=[row[0] for row in NOT_FOLDED])
def test_spellings_not_known_to_be_equivalent_are_left_alone(text: str, why: str) -> None:
    assert parse(text).canonical() == serialize(parse(text)), why


def test_a_chain_of_defaults_only_is_the_empty_transformation() -> None:
    assert parse("a_0/r_0").canonical() == ""


def test_one_pixel_and_one_hundred_percent_differ() -> None:
    assert parse("w_1") != parse("w_1.0")
    assert parse("w_1").canonical() != parse("w_1.0").canonical()


@pytest.mark.parametrize(
    ("text", "param", "message"),
    [
        ("foo_bar", "foo", "Invalid transformation parameter - foo"),
        ("w_300,zz_1", "zz", "Invalid transformation parameter - zz"),
        ("w_abc", "w", "Invalid width parameter - abc"),
        ("w_-5", "w", "Invalid width parameter - -5"),
        ("h_0", "h", "Invalid height parameter - 0"),
        ("c_squash", "c", "Invalid crop mode - squash"),
        ("g_upside", "g", "Invalid gravity parameter - upside"),
        ("e_sparkle", "e", "Invalid effect - sparkle"),
        ("e_sepia:500", "e", "Invalid effect parameter - sepia:500"),
        ("q_101", "q", "Invalid quality parameter - 101"),
        ("q_auto:superb", "q", "Invalid quality parameter - auto:superb"),
        ("f_doc", "f", "Invalid fetch_format parameter - doc"),
        ("fl_shiny", "fl", "Invalid flag - shiny"),
        ("co_notacolor", "co", "Invalid color parameter - notacolor"),
        ("r_1:2:3:4:5", "r", "Invalid radius parameter - 1:2:3:4:5"),
        ("o_150", "o", "Invalid opacity parameter - 150"),
        ("w", "w", "Invalid transformation parameter - w"),
        ("c_scale,g_auto,w_100", "g", "Use auto gravity only with crop, fill, lfill, fill_pad or thumb"),
        ("if_w_gt", "if", "Invalid condition - w_gt"),
    ],
)
def test_bad_parameters_are_rejected_with_a_message_naming_them(text: str, param: str, message: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse(text)
    assert caught.value.param == param
    assert caught.value.message == message
    assert isinstance(caught.value, Invalid) and status_for(caught.value) == 400


def test_empty_component_is_rejected() -> None:
    with pytest.raises(ParseError):
        parse("w_100//e_sepia")


def test_named_transformations_expand_in_place() -> None:
    definitions = {"thumb": "c_fill,w_100,h_100", "sepia_thumb": "t_thumb/e_sepia"}
    chain = parse("t_sepia_thumb/q_auto", named=definitions.get)
    assert chain == parse("c_fill,w_100,h_100/e_sepia/q_auto")
    assert parse("t_thumb,w_10", named=definitions.get) == parse("c_fill,w_100,h_100/w_10")
    assert parse("t_thumb.sepia_thumb", named=definitions.get).canonical() == "c_fill,h_100,w_100/c_fill,h_100,w_100/e_sepia"


def test_unknown_named_transformation_is_rejected() -> None:
    with pytest.raises(ParseError, match="t_nope"):
        parse("t_nope", named=lambda name: None)
    with pytest.raises(ParseError):
        parse("t_nope")


def test_named_transformation_cycles_are_refused() -> None:
    definitions = {"a": "t_b", "b": "e_sepia/t_a"}
    with pytest.raises(ParseError, match="refers to itself"):
        parse("t_a", named=definitions.get)


def test_overly_long_transformations_are_refused() -> None:
    with pytest.raises(ParseError):
        parse("/".join(["e_sepia"] * 65))
    with pytest.raises(ParseError):
        parse("w_1," * 2000)


def test_chain_reports_layers_attachment_and_emptiness() -> None:
    chain = parse("l_brand:logo.png,w_80/fl_layer_apply/u_sample/l_text:Arial_10:hi/l_video:dog/l_brand:logo")
    assert chain.layer_public_ids() == ("brand/logo", "sample")
    assert parse("fl_attachment:report").attachment == "report"
    assert parse("fl_attachment").attachment == ""
    assert parse("w_10").attachment is None
    assert parse("").is_empty and not parse("w_10").is_empty
    assert parse("f_png/c_scale,w_10/f_webp").fetch_format == "webp"


@pytest.mark.parametrize(
    ("segment", "expected"),
    [
        ("c_fill,w_300", True),
        ("e_sepia", True),
        ("t_thumb", True),
        ("if_w_gt_400", True),
        ("$small_150", True),
        ("w_abc", True),  # a known key: it is a transformation, and a bad one (400, not 404)
        ("sample", False),
        ("v1234", False),
        ("my_photo", False),
        ("folder", False),
        ("sample.jpg", False),
        ("c_fill,photo", False),
        ("", False),
        ("https:", False),
    ],
)
def test_looks_like_transformation(segment: str, expected: bool) -> None:
    assert looks_like_transformation(segment) is expected


def test_public_surface_is_pinned() -> None:
    assert sorted(transform.__all__) == sorted(
        [
            "AspectRatio", "AutoSize", "Background", "Border", "Chain", "Component", "Effect", "Expression",
            "Flag", "Layer", "ParseError", "Pixels", "Quality", "Radius", "Relative", "TextStyle", "Variable",
            "looks_like_transformation", "parse",
            # What the renderers read: expression trees, colours, the vocabulary they act on.
            "AUTO_GRAVITY_CROPS", "FORMAT_ALIASES", "Cast", "Literal", "Lookup", "Name", "Node", "Operation",
            "parse_color", "rgba",
            # Effect arguments with a structure of their own, read alike by parser and renderer.
            "theme_options", "vectorize_options",
        ]
    )


def test_text_layers_need_the_undecoded_segment() -> None:
    raw = "co_white,l_text:Arial_40_bold:Hello%252C%20World"
    assert looks_like_transformation(raw)
    assert parse(raw).components[0].overlay.text == "Hello, World"  # type: ignore[union-attr]
    # Decoded once (as Starlette's path is) it still works; decoded twice the comma splits the item.
    assert looks_like_transformation("co_white,l_text:Arial_40_bold:Hello%2C World")
    assert not looks_like_transformation("co_white,l_text:Arial_40_bold:Hello, World")
