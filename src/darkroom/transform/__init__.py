"""The Cloudinary transformation language: URL text ⇄ typed AST, with no I/O.

    chain = parse("c_fill,g_auto,w_300,h_200/e_sepia")
    chain.canonical()   # "c_fill,g_auto,h_200,w_300/e_sepia" — the derivative cache key

The renderers (`darkroom.imaging`, `darkroom.video`) execute a `Chain` and read only what
this module exports: the nodes, expression trees (`Expression.parsed`) to evaluate, `bind`
to fill in `$variables`, colours as RGBA (`rgba`) and the vocabulary they act on. The
delivery handler uses `looks_like_transformation` to find where the public_id starts.
"""

from __future__ import annotations

from darkroom.transform.ast import (
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
    Pixels,
    Quality,
    Radius,
    Relative,
    TextStyle,
    Variable,
)
from darkroom.transform.colors import parse_color, rgba
from darkroom.transform.effects import theme_options, vectorize_options
from darkroom.transform.errors import ParseError
from darkroom.transform.expressions import Cast, Literal, Lookup, Name, Node, Operation
from darkroom.transform.params import AUTO_GRAVITY_CROPS, FORMAT_ALIASES
from darkroom.transform.parser import looks_like_transformation, parse

__all__ = [
    "AUTO_GRAVITY_CROPS",
    "FORMAT_ALIASES",
    "AspectRatio",
    "AutoSize",
    "Background",
    "Border",
    "Cast",
    "Chain",
    "Component",
    "Effect",
    "Expression",
    "Flag",
    "Layer",
    "Literal",
    "Lookup",
    "Name",
    "Node",
    "Operation",
    "ParseError",
    "Pixels",
    "Quality",
    "Radius",
    "Relative",
    "TextStyle",
    "Variable",
    "looks_like_transformation",
    "parse",
    "parse_color",
    "rgba",
    "theme_options",
    "vectorize_options",
]
