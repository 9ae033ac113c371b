"""The search expression's syntax tree: frozen nodes that render back to text and describe themselves.

A node is a value: two parses of the same meaning compare equal, `render()` gives canonical
expression text (parsing it again yields the same tree), and `describe()` says in words what
the node matches, for error messages, logs and the console's "what am I searching for" line.

    Node
    ├── Or(children)          a OR b OR c
    ├── And(children)         a AND b
    ├── Not(child)            NOT a
    ├── Term(value)           a bare word or phrase: any searchable text field
    ├── Match(field, op, v)   field:v  field=v  field<v  field<=v  field>v  field>=v
    └── Range(field, lo, hi)  field:[lo TO hi]  field:{lo TO hi}  (either end may be *)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Union

__all__ = ["Value", "Term", "Match", "Range", "And", "Or", "Not", "Node", "Op", "OPS"]

Op = Literal[":", "=", "<", "<=", ">", ">="]
OPS: tuple[Op, ...] = (":", "=", "<", "<=", ">", ">=")

# Characters that must be escaped with a backslash in an unquoted word.
SPECIAL = set('!(){}[]*^~?:\\=&|><"') | {" ", "\t", "\n", "\r"}

_OP_WORDS = {
    ":": "matches",
    "=": "equals",
    "<": "is less than",
    "<=": "is at most",
    ">": "is greater than",
    ">=": "is at least",
}


@dataclass(frozen=True)
class Value:
    """A literal as written: its unescaped text, whether it was quoted, and a trailing `*` wildcard."""

    text: str
    quoted: bool = field(default=False, compare=False)  # how it was written; no effect on meaning
    wildcard: bool = False  # an unescaped trailing `*`: match anything starting with `text`

    def render(self) -> str:
        star = "*" if self.wildcard else ""
        if self.quoted or not self.text or self.text in ("AND", "OR", "NOT", "TO") or self.text.startswith("-"):
            escaped = self.text.replace("\\", "\\\\").replace('"', '\\"').replace("*", "\\*")
            return f'"{escaped}{star}"'
        return "".join("\\" + c if c in SPECIAL else c for c in self.text) + star

    def describe(self) -> str:
        return f"'{self.text}'" + (" followed by anything" if self.wildcard else "")


@dataclass(frozen=True)
class Term:
    """A bare word or phrase, searched in every free-text field."""

    value: Value

    def render(self) -> str:
        return self.value.render()

    def describe(self) -> str:
        return f"any text field contains {self.value.describe()}"


@dataclass(frozen=True)
class Match:
    """`field OP value`: `:` is a tokenized match on text fields, `=` an exact one, others compare."""

    field: str
    op: Op
    value: Value

    def render(self) -> str:
        return f"{self.field}{self.op}{self.value.render()}"

    def describe(self) -> str:
        return f"{self.field} {_OP_WORDS[self.op]} {self.value.describe()}"


@dataclass(frozen=True)
class Range:
    """`field:[low TO high]` (inclusive) or `field:{low TO high}` (exclusive); None is an open end (`*`)."""

    field: str
    low: Value | None
    high: Value | None
    low_inclusive: bool = True
    high_inclusive: bool = True

    def render(self) -> str:
        low = self.low.render() if self.low else "*"
        high = self.high.render() if self.high else "*"
        left = "[" if self.low_inclusive else "{"
        right = "]" if self.high_inclusive else "}"
        return f"{self.field}:{left}{low} TO {high}{right}"

    def describe(self) -> str:
        parts = []
        if self.low is not None:
            parts.append(f"{'at least' if self.low_inclusive else 'greater than'} {self.low.describe()}")
        if self.high is not None:
            parts.append(f"{'at most' if self.high_inclusive else 'less than'} {self.high.describe()}")
        return f"{self.field} is " + (" and ".join(parts) if parts else "anything")


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]

    def render(self) -> str:
        return " AND ".join(_wrap(child, (Or,)) for child in self.children)

    def describe(self) -> str:
        return " and ".join(_wrap_words(child, (Or,)) for child in self.children)


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]

    def render(self) -> str:
        return " OR ".join(child.render() for child in self.children)

    def describe(self) -> str:
        return " or ".join(_wrap_words(child, (And,)) for child in self.children)


@dataclass(frozen=True)
class Not:
    child: Node

    def render(self) -> str:
        return "NOT " + _wrap(self.child, (And, Or))

    def describe(self) -> str:
        return "not " + _wrap_words(self.child, (And, Or))


Node = Union[Term, Match, Range, And, Or, Not]


def _wrap(node: Node, loose: tuple[type, ...]) -> str:
    """Parenthesize a child whose operator binds more loosely than its parent's."""
    text = node.render()
    return f"({text})" if isinstance(node, loose) else text


def _wrap_words(node: Node, loose: tuple[type, ...]) -> str:
    text = node.describe()
    return f"({text})" if isinstance(node, loose) else text
