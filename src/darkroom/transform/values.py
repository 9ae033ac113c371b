"""Shared argument parsers, each with its inverse formatter next to it.

Every key in the table (`params.py`) is built from these, so all keys validate alike and
errors name the key and what was expected. A parser takes (key, text) and returns a node
value; its formatter turns that value back into canonical URL text.
"""

from __future__ import annotations

import re

from darkroom.transform.ast import AspectRatio, AutoSize, Expression, Pixels, Relative
from darkroom.transform.errors import ParseError
from darkroom.transform.expressions import is_expression

_INT = re.compile(r"-?\d{1,9}")
_DECIMAL = re.compile(r"-?(?:\d{1,9}\.\d{0,9}|\.\d{1,9})")
_WORD = re.compile(r"[a-z0-9][a-z0-9_]{0,60}")


def format_number(value: int | float) -> str:
    """Integers as written; floats always with a decimal point and never in exponent form.

    The point matters: `w_1` is one pixel while `w_1.0` is 100 %.
    """
    if isinstance(value, int):
        return str(value)
    text = repr(value)
    if "e" in text or "E" in text:
        text = f"{value:.9f}".rstrip("0")
    return text if "." in text else text + ".0"


def number(key: str, name: str, text: str, *, low: float | None = None, high: float | None = None) -> int | float:
    """An int for integer text, a float for decimal text, within [low, high]."""
    if _INT.fullmatch(text):
        value: int | float = int(text)
    elif _DECIMAL.fullmatch(text):
        value = float(text)
    else:
        raise ParseError(f"Invalid {name} parameter - {text}", param=key)
    if (low is not None and value < low) or (high is not None and value > high):
        raise ParseError(f"Invalid {name} parameter - {text}", param=key, detail=f"range {low}..{high}")
    return value


def integer(key: str, name: str, text: str, *, low: int | None = None, high: int | None = None) -> int:
    if not _INT.fullmatch(text):
        raise ParseError(f"Invalid {name} parameter - {text}", param=key)
    return int(number(key, name, text, low=low, high=high))


def length(key: str, name: str, text: str, *, allow_negative: bool) -> Pixels | Relative | Expression:
    """`300` px, `0.5` of the reference, or an expression (`iw_div_2`, `$w`)."""
    if _INT.fullmatch(text) or _DECIMAL.fullmatch(text):
        value = number(key, name, text, low=None if allow_negative else 0)
        return Pixels(value) if isinstance(value, int) else Relative(value)
    if is_expression(text):
        return Expression(text)
    raise ParseError(f"Invalid {name} parameter - {text}", param=key)


def format_length(value: Pixels | Relative | Expression | AutoSize) -> str:
    if isinstance(value, Expression):
        return value.text
    if isinstance(value, AutoSize):
        return ":".join(("auto",) + value.args)
    return format_number(value.value)


def size(key: str, name: str, text: str) -> Pixels | Relative | Expression | AutoSize:
    """A width or height: a length, or `auto[:step][:min]` / `auto:breakpoints…`."""
    if text == "auto" or text.startswith("auto:"):
        args = tuple(text.split(":")[1:])
        if not all(re.fullmatch(r"[a-z0-9_.]{1,60}", arg) for arg in args):
            raise ParseError(f"Invalid {name} parameter - {text}", param=key)
        return AutoSize(args)
    value = length(key, name, text, allow_negative=False)
    if isinstance(value, Pixels) and value.value == 0:
        raise ParseError(f"Invalid {name} parameter - {text}", param=key)
    return value


def aspect_ratio(key: str, name: str, text: str) -> AspectRatio | Expression:
    """`16:9` or `1.5` (a positive decimal), or an expression."""
    if ":" in text:
        left, _, right = text.partition(":")
        width = number(key, name, left, low=0)
        height = number(key, name, right, low=0)
        if width <= 0 or height <= 0:
            raise ParseError(f"Invalid {name} parameter - {text}", param=key)
        return AspectRatio(width, height)
    if is_expression(text) and not (_INT.fullmatch(text) or _DECIMAL.fullmatch(text)):
        return Expression(text)
    value = number(key, name, text, low=0)
    if value <= 0:
        raise ParseError(f"Invalid {name} parameter - {text}", param=key)
    return AspectRatio(value, 1)


def format_aspect_ratio(value: AspectRatio | Expression) -> str:
    if isinstance(value, Expression):
        return value.text
    if value.height == 1:
        return format_number(value.width)
    return f"{format_number(value.width)}:{format_number(value.height)}"


def word(key: str, name: str, text: str, pattern: str = r"[A-Za-z0-9_.:\-]{1,120}") -> str:
    """A free-form token kept as written (video options, page, default image…)."""
    if not re.fullmatch(pattern, text):
        raise ParseError(f"Invalid {name} parameter - {text}", param=key)
    return text
