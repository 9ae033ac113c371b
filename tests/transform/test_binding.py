"""Expression trees and `$variable` binding: what the renderer gets instead of URL text."""

from __future__ import annotations

import pytest

from darkroom.transform import (
    Cast,
    Chain,
    Component,
    Effect,
    Layer,
    Literal,
    Lookup,
    Name,
    Operation,
    ParseError,
    TextStyle,
    parse,
)
from darkroom.transform.expressions import parse_expression

# (expression text, its tree)
TREES = [
    ("400", Literal(400.0)),
    ("!sale!", Literal("sale")),
    ("ctx:!width!", Lookup("ctx", "width")),
    ("md:!plan!", Lookup("md", "plan")),
    ("$w", Name("$w")),
    ("iw_div_2_add_10", Operation("add", Operation("div", Name("iw"), Literal(2.0)), Literal(10.0))),
    ("1_add_2_mul_3", Operation("add", Literal(1.0), Operation("mul", Literal(2.0), Literal(3.0)))),
    ("8_sub_2_sub_1", Operation("sub", Operation("sub", Literal(8.0), Literal(2.0)), Literal(1.0))),
    ("2_pow_3_pow_2", Operation("pow", Literal(2.0), Operation("pow", Literal(3.0), Literal(2.0)))),
    (
        "w_gt_400_and_fc_gt_0",
        Operation("and", Operation("gt", Name("w"), Literal(400.0)), Operation("gt", Name("fc"), Literal(0.0))),
    ),
    ("ctx:!w!_to_f_mul_2", Operation("mul", Cast("f", Lookup("ctx", "w")), Literal(2.0))),
    ("iw_to_i_to_f", Cast("f", Cast("i", Name("iw")))),
    ("!sale!_in_tags", Operation("in", Literal("sale"), Name("tags"))),
]


@pytest.mark.parametrize(("text", "tree"), TREES)
def test_expressions_parse_to_trees_with_precedence(text: str, tree: object) -> None:
    assert parse_expression(text) == tree


def test_nodes_holding_expressions_give_their_trees() -> None:
    component = parse("if_w_gt_400,$half_iw_div_2,w_$half,o_$half").components[0]
    assert component.parsed_condition == Operation("gt", Name("w"), Literal(400.0))
    assert component.variables[0].parsed == Operation("div", Name("iw"), Literal(2.0))
    assert component.width.parsed == Name("$half")  # type: ignore[union-attr]
    assert parse("if_else").components[0].parsed_condition is None
    assert parse("w_300").components[0].parsed_condition is None


def test_an_effect_named_by_a_variable_binds_to_the_effect_it_names() -> None:
    written = parse("e_$fx:60").components[0].effects[0]
    assert written.bind({"$fx": "sepia"}) == Effect("sepia", ("60",))
    assert Effect("$fx").bind({"$fx": "sepia:80"}) == Effect("sepia")  # the default is dropped, as when parsed
    assert Effect("grayscale").bind({}) == Effect("grayscale")


@pytest.mark.parametrize(
    ("effect", "values", "message"),
    [
        (Effect("$fx"), {}, "Invalid effect - $fx"),
        (Effect("$fx"), {"$fx": 3.0}, "Invalid effect - $fx"),
        (Effect("$fx"), {"$fx": "nonsense"}, "Invalid effect - nonsense"),
        (Effect("$fx", ("900",)), {"$fx": "sepia"}, "Invalid effect parameter - sepia:900"),
    ],
)
def test_an_effect_variable_that_names_no_effect_is_a_parse_error(effect: Effect, values: dict[str, object], message: str) -> None:
    with pytest.raises(ParseError, match=message.replace("$", r"\$")):
        effect.bind(values)


def test_layers_bind_image_names_text_styles_and_words() -> None:
    image = parse("l_$img").components[0].overlay
    assert image.bind({"$img": "brand/logo"}).public_id == "brand/logo"  # type: ignore[union-attr]
    text = parse("l_text:$style:N%20$(n)%20of%20$(total)%20at%20$(ratio)").components[0].overlay
    bound = text.bind({"$style": "Arial_60_bold", "$n": 42.0, "$total": "ten", "$ratio": 0.5})  # type: ignore[union-attr]
    assert bound.style == TextStyle("Arial", 60, font_weight="bold") and bound.style_variable is None
    assert bound.text == "N 42 of ten at 0.5"
    plain = parse("l_text:Arial_12:hi").components[0].overlay
    assert plain.bind({}) is plain  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("layer", "values", "message"),
    [
        (Layer(kind="image", public_id="$img"), {"$img": 4.0}, "Invalid layer - $img does not hold a public ID"),
        (Layer(kind="image", public_id="$img"), {"$img": ""}, "Invalid layer - $img does not hold a public ID"),
        (Layer(kind="text", style_variable="$s", text="hi"), {}, "Invalid text style - $s"),
        (Layer(kind="text", style_variable="$s", text="hi"), {"$s": "Arial"}, "Invalid text style - Arial"),
        (Layer(kind="text", style=TextStyle("Arial", 12), text="$(gone)"), {}, "unknown variable $gone"),
    ],
)
def test_a_layer_variable_missing_or_of_the_wrong_kind_is_a_parse_error(layer: Layer, values: dict[str, object], message: str) -> None:
    with pytest.raises(ParseError, match=message.replace("$", r"\$")):
        layer.bind(values)


def test_a_chain_binds_every_component_and_is_otherwise_unchanged() -> None:
    chain = parse("e_$fx/l_$img/fl_layer_apply/c_scale,w_100")
    bound = chain.bind({"$fx": "negate", "$img": "logo"})
    assert bound == Chain((
        Component(effects=(Effect("negate"),)),
        Component(overlay=Layer(kind="image", public_id="logo")),
        *chain.components[2:],
    ))
    plain = parse("c_scale,w_100/e_sepia")
    assert plain.bind({}) == plain and plain.bind({}).components[0] is plain.components[0]


def test_effect_arguments_read_as_values_with_documented_defaults() -> None:
    assert Effect("sepia").integer(0, 1) == 80  # Cloudinary's default strength
    assert Effect("sepia", ("30",)).integer(0, 1) == 30
    assert Effect("pixelate").integer(0, 7) == 7  # no documented default: the renderer's
    assert Effect("blackwhite", ("bw",)).arg(0) == "bw" and Effect("blackwhite").arg(0) == "50"
    assert Effect("outline", ("inner", "4")).bounded(1, 1, 100) == 4
    assert Effect("shear", ("-20", "5")).bounded(0, -89, 89, signed=True) == -20
    assert Effect("tint", ("50", "ff0000", "blue")).color(1) == (255, 0, 0, 255)
    assert Effect("tint", ("50", "ff0000", "blue")).color(2) == (0, 0, 255, 255)


@pytest.mark.parametrize(
    ("effect", "read", "message"),
    [
        (Effect("sepia", ("$amount",)), lambda e: e.integer(0, 80), "Invalid effect parameter - sepia:$amount"),
        (Effect("outline", ("0",)), lambda e: e.bounded(0, 1, 100), "Invalid effect parameter - outline:0"),
        (Effect("shear", ("-90",)), lambda e: e.bounded(0, -89, 89, signed=True), "Invalid effect parameter - shear:-90"),
        (Effect("cartoonify", ("-5",)), lambda e: e.bounded(0, 0, 100), "Invalid effect parameter - cartoonify:-5"),
        (Effect("tint", ("50", "nocolour")), lambda e: e.color(1), "Invalid color parameter - nocolour"),
    ],
)
def test_an_argument_that_is_not_the_value_expected_is_a_parse_error(effect: Effect, read: object, message: str) -> None:
    with pytest.raises(ParseError, match=message.replace("$", r"\$")):
        read(effect)  # type: ignore[operator]
