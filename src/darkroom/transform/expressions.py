"""The expression sub-language of `if_`, `$var` and numeric values: validation and trees.

The parser checks that the token sequence is well formed (operand, operator, operand, …)
so a typo is refused at parse time, not a wrong picture. `parse_expression` turns checked
text into a frozen tree (operator precedence applied, `pow` binding to the right) that
the renderer evaluates against an image's numbers without reading URL text again:

    parse_expression("iw_div_2_add_10")
    -> Operation("add", Operation("div", Name("iw"), Literal(2.0)), Literal(10.0))
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from darkroom.transform.errors import ParseError


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


# ---------------------------------------------------------------- trees


@dataclass(frozen=True)
class Literal:
    """A number (`400`, `0.5`, as a float) or a `!quoted!` string (without the marks)."""

    value: float | str


@dataclass(frozen=True)
class Name:
    """A value known only when rendering: predefined (`w`, `iw`, `fc`, `tags`) or `$name`."""

    name: str


@dataclass(frozen=True)
class Lookup:
    """`ctx:!key!` / `md:!key!`: a value of the asset's context or structured metadata."""

    source: str  # "ctx" or "md"
    key: str


@dataclass(frozen=True)
class Operation:
    """`left <operator> right`, the operator as the URL writes it (`add`, `gt`, `in`, …)."""

    operator: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Cast:
    """`…_to_f` / `…_to_i`: the operand before it as a number, or truncated to an integer."""

    to: str  # "f" or "i"
    operand: Node


Node = Literal | Name | Lookup | Operation | Cast

# Binding power: higher binds tighter.
PRECEDENCE = {
    "or": 1, "and": 2,
    "eq": 3, "ne": 3, "lt": 3, "gt": 3, "lte": 3, "gte": 3, "in": 3, "nin": 3,
    "add": 4, "sub": 4,
    "mul": 5, "div": 5, "mod": 5,
    "pow": 6,
}


def _operand(token: str) -> Node:
    if token.startswith("!") and token.endswith("!"):
        return Literal(token[1:-1])
    if token.startswith(("ctx:!", "md:!")):
        source, _, key = token.partition(":")
        return Lookup(source, key.strip("!"))
    try:
        return Literal(float(token))
    except ValueError:
        return Name(token)


@functools.lru_cache(maxsize=4096)
def parse_expression(text: str) -> Node:
    """The tree of an expression; cached, since a chain's few expressions recur on every render."""
    parts = tokens(text)
    if not parts:
        raise ParseError(f"Invalid expression - {text}")
    values: list[Node] = []
    operators: list[str] = []

    def reduce() -> None:
        operator = operators.pop()
        right, left = values.pop(), values.pop()
        values.append(Operation(operator, left, right))

    for token in parts:
        if token in ("to_f", "to_i"):
            values[-1] = Cast(token[-1], values[-1])
        elif token in PRECEDENCE:
            while operators and (
                PRECEDENCE[operators[-1]] > PRECEDENCE[token]
                or (PRECEDENCE[operators[-1]] == PRECEDENCE[token] and token != "pow")
            ):
                reduce()
            operators.append(token)
        else:
            values.append(_operand(token))
    while operators:
        reduce()
    return values[0]
