"""The Cloudinary transformation language: URL text ⇄ typed AST, with no I/O.

    chain = parse("c_fill,g_auto,w_300,h_200/e_sepia")
    chain.canonical()   # "c_fill,g_auto,h_200,w_300/e_sepia" — the derivative cache key

The renderers (`darkroom.imaging`, `darkroom.video`) execute a `Chain`; the delivery
handler uses `looks_like_transformation` to find where the public_id starts.
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
from darkroom.transform.errors import ParseError
from darkroom.transform.parser import looks_like_transformation, parse

__all__ = [
    "AspectRatio",
    "AutoSize",
    "Background",
    "Border",
    "Chain",
    "Component",
    "Effect",
    "Expression",
    "Flag",
    "Layer",
    "ParseError",
    "Pixels",
    "Quality",
    "Radius",
    "Relative",
    "TextStyle",
    "Variable",
    "looks_like_transformation",
    "parse",
]
