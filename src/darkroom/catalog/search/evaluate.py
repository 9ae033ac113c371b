"""Evaluating a tree over in-memory records, for the few searches that are not SQL (folder search).

Only text semantics are needed there: `:` word match, `=` exact, trailing `*` prefix, with
the same word rules as the SQL compiler (so `name:summer` means the same on folders as
`filename:summer` does on assets). Numbers and dates compare when the record holds them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from darkroom.catalog.search.compiler import SEPARATORS
from darkroom.catalog.search.nodes import And, Match, Node, Not, Or, Range, Term, Value

__all__ = ["evaluate"]


def evaluate(node: Node, record: Mapping[str, Any], text_fields: tuple[str, ...]) -> bool:
    """Whether `record` matches `node`; a bare term looks in `text_fields`."""
    if isinstance(node, And):
        return all(evaluate(child, record, text_fields) for child in node.children)
    if isinstance(node, Or):
        return any(evaluate(child, record, text_fields) for child in node.children)
    if isinstance(node, Not):
        return not evaluate(node.child, record, text_fields)
    if isinstance(node, Term):
        return any(_words(record.get(name), node.value) for name in text_fields)
    if isinstance(node, Match):
        return _match(record.get(node.field), node.op, node.value)
    return _range(record.get(node.field), node)


def _match(actual: Any, op: str, value: Value) -> bool:
    if actual is None:
        return False
    if op == ":" and value.wildcard and value.text.endswith("/"):
        base = value.text.rstrip("/")
        return str(actual) == base or str(actual).startswith(base + "/")
    if op == ":":
        return _words(actual, value)
    if op == "=":
        return str(actual).startswith(value.text) if value.wildcard else str(actual) == value.text
    return _compare(actual, op, value.text)


def _normalize(text: str) -> str:
    for separator in SEPARATORS:
        text = text.replace(separator, " ")
    return "".join(c.lower() if c.isascii() else c for c in text)


def _words(actual: Any, value: Value) -> bool:
    if actual is None:
        return False
    haystack = f" {_normalize(str(actual))} "
    words = _normalize(value.text)
    words = words.lstrip(" ") if value.wildcard else words.strip(" ")
    if not words:
        return value.wildcard
    return f" {words}" in haystack if value.wildcard else f" {words} " in haystack


def _compare(actual: Any, op: str, text: str) -> bool:
    try:
        left, right = (float(actual), float(text)) if not isinstance(actual, str) else (actual, text)
    except ValueError:
        return False
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]


def _range(actual: Any, node: Range) -> bool:
    if actual is None:
        return False
    low_ok = node.low is None or _compare(actual, ">=" if node.low_inclusive else ">", node.low.text)
    high_ok = node.high is None or _compare(actual, "<=" if node.high_inclusive else "<", node.high.text)
    return low_ok and high_ok
