"""Binding `$variables`: references to a variable replaced by the value it holds.

A chain may name an effect (`e_$fx`), an overlay (`l_$img`), a text style
(`l_text:$style:…`) or words of a text (`$(count)`) by variable. Assignments are
expressions over the image (`$w_iw_div_2`) and a condition may decide which one runs, so
their values are known only while rendering; the renderer evaluates them, then asks for
the node bound to those values. What a value means (an effect, a style) is read here, so
a bound node is exactly what the parser would have built from the text it stands for.

    Effect("$fx").bind({"$fx": "sepia"}) == Effect("sepia")
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from darkroom.transform.effects import parse_effect
from darkroom.transform.errors import ParseError
from darkroom.transform.layers import parse_text_style
from darkroom.transform.values import format_number

if TYPE_CHECKING:
    from darkroom.transform.ast import Effect, Layer

# Variable name → value: a number, a string, a truth value or a list (`tags`).
Values = Mapping[str, object]

_INTERPOLATION = re.compile(r"\$\(([A-Za-z][A-Za-z0-9]*)\)")


def bind_effect(effect: Effect, values: Values) -> Effect:
    """`e_$fx[:args]` as the effect `$fx` names, its arguments checked as if written out."""
    if not effect.name.startswith("$"):
        return effect
    name = values.get(effect.name)
    if not isinstance(name, str):
        raise ParseError(f"Invalid effect - {effect.name}", param="e")
    return parse_effect("e", ":".join((name,) + effect.args))


def bind_layer(layer: Layer, values: Values) -> Layer:
    """An image layer named by a variable, or a text layer's style and `$(name)` words."""
    if layer.kind == "text":
        return _bind_text(layer, values)
    if layer.kind == "image" and layer.public_id and layer.public_id.startswith("$"):
        public_id = values.get(layer.public_id)
        if not isinstance(public_id, str) or not public_id:
            raise ParseError(f"Invalid layer - {layer.public_id} does not hold a public ID", param="l")
        return replace(layer, public_id=public_id)
    return layer


def _bind_text(layer: Layer, values: Values) -> Layer:
    style = layer.style
    if layer.style_variable is not None:
        written = values.get(layer.style_variable)
        if not isinstance(written, str):
            raise ParseError(f"Invalid text style - {layer.style_variable}", param="l")
        style = parse_text_style(written)
    text = layer.text or ""
    if "$(" in text:
        text = _INTERPOLATION.sub(lambda match: _word(match.group(1), values), text)
    if style is layer.style and text == layer.text:
        return layer
    return replace(layer, style=style, style_variable=None, text=text)


def _word(name: str, values: Values) -> str:
    """A variable's value as text: whole numbers without a decimal point."""
    value = values.get("$" + name)
    if value is None:
        raise ParseError(f"Invalid expression - unknown variable ${name}")
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else format_number(value)
    return str(value)
