"""Validation of the expression sub-language used by `if_`, `$var` and numeric values.

The renderer evaluates expressions; here we only check that the token sequence is well
formed (operand, operator, operand, …) so a typo is refused at parse time, not a wrong picture.
"""

from __future__ import annotations

import re


OPERATORS = frozenset(
    "eq ne lt gt lte gte and or mul div add sub pow mod in nin".split()
)
PREDEFINED = frozenset(
    "w h ar iw ih iar tar fc pc cp px py du idu ils tags ctx md".split()
)
_TOKEN = re.compile(r"(?:ctx|md):![^!]*!|![^!]*!|to_[fi]|[^_]+")
_NUMBER = re.compile(r"-?\d{1,9}(?:\.\d{1,9})?")
VARIABLE_NAME = re.compile(r"\$[A-Za-z][A-Za-z0-9]{0,40}")


def tokens(text: str) -> list[str]:
    """Cut an expression on `_`, keeping `!quoted strings!` whole."""
    found: list[str] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            return []
        found.append(match.group())
        pos = match.end()
        if pos < len(text):
            if text[pos] != "_":
                return []
            pos += 1
            if pos == len(text):
                return []
    return found


def _is_operand(token: str) -> bool:
    return bool(
        _NUMBER.fullmatch(token)
        or token in PREDEFINED
        or VARIABLE_NAME.fullmatch(token)
        or (token.startswith("!") and token.endswith("!") and len(token) >= 2)
        or re.fullmatch(r"(?:ctx|md):![^!]*!", token)
    )


def is_expression(text: str) -> bool:
    """True when `text` is operand (operator operand)*, with optional `_to_f`/`_to_i` casts."""
    parts = tokens(text)
    if not parts:
        return False
    expect_operand = True
    for token in parts:
        if expect_operand:
            if not _is_operand(token):
                return False
            expect_operand = False
        elif token in ("to_f", "to_i"):
            continue
        elif token in OPERATORS:
            expect_operand = True
        else:
            return False
    return not expect_operand
