"""Evaluating a tree over in-memory records, for the few searches that are not SQL (folder search).

Only text semantics are needed there: `:` word match, `=` exact, trailing `*` prefix, with
the same word rules as the SQL compiler (so `name:summer` means the same on folders as
`filename:summer` does on assets). Numbers compare when the record holds them; a datetime
value follows the compiler's date rules (`created_at>1w`, `created_at:2024-01-31` is that
whole day, `[a TO b]`), relative to the `now` passed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from darkroom.catalog.search.compiler import SEPARATORS
from darkroom.catalog.search.nodes import And, Match, Node, Not, Or, Range, Term, Value
from darkroom.catalog.search.values import parse_date

__all__ = ["evaluate"]


def evaluate(node: Node, record: Mapping[str, Any], text_fields: tuple[str, ...], now: datetime | None = None) -> bool:
    """Whether `record` matches `node`; a bare term looks in `text_fields`; relative dates count back from `now`."""
    moment = now or datetime.now(UTC)
    if isinstance(node, And):
        return all(evaluate(child, record, text_fields, moment) for child in node.children)
    if isinstance(node, Or):
        return any(evaluate(child, record, text_fields, moment) for child in node.children)
    if isinstance(node, Not):
        return not evaluate(node.child, record, text_fields, moment)
    if isinstance(node, Term):
        return any(_words(record.get(name), node.value) for name in text_fields)
    if isinstance(node, Match):
        return _match(record.get(node.field), node.op, node.value, moment)
    return _range(record.get(node.field), node, moment)


def _match(actual: Any, op: str, value: Value, now: datetime) -> bool:
    if actual is None:
        return False
    if isinstance(actual, datetime):
        return _date_match(actual, op, value.text, now)
    if op == ":" and value.wildcard and value.text.endswith("/"):
        base = value.text.rstrip("/")
        return str(actual) == base or str(actual).startswith(base + "/")
    if op == ":":
        return _words(actual, value)
    if op == "=":
        return str(actual).startswith(value.text) if value.wildcard else str(actual) == value.text
    return _compare(actual, op, value.text)


def _date_match(actual: datetime, op: str, text: str, now: datetime) -> bool:
    """The compiler's rules: `:`/`=` a relative date means since then, a day means that day;
    a whole day is a unit in comparisons (`> 2024-01-01` starts on the 2nd)."""
    moment = parse_date(text, now)
    if moment is None:
        return False
    actual = actual if actual.tzinfo else actual.replace(tzinfo=UTC)
    if op in (":", "="):
        if moment.relative:
            return actual >= moment.start
        return moment.start <= actual < moment.end if moment.whole_day else actual == moment.start
    if op == ">":
        return actual >= moment.end if moment.whole_day else actual > moment.start
    if op == "<=":
        return actual < moment.end if moment.whole_day else actual <= moment.start
    return actual >= moment.start if op == ">=" else actual < moment.start


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
    left: Any  # two floats or two strings
    right: Any
    try:
        left, right = (float(actual), float(text)) if not isinstance(actual, str) else (actual, text)
    except ValueError:
        return False
    return bool({"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op])


def _range(actual: Any, node: Range, now: datetime) -> bool:
    if actual is None:
        return False
    if isinstance(actual, datetime):
        low_ok = node.low is None or _date_match(actual, ">=" if node.low_inclusive else ">", node.low.text, now)
        high_ok = node.high is None or _date_match(actual, "<=" if node.high_inclusive else "<", node.high.text, now)
        return low_ok and high_ok
    low_ok = node.low is None or _compare(actual, ">=" if node.low_inclusive else ">", node.low.text)
    high_ok = node.high is None or _compare(actual, "<=" if node.high_inclusive else "<", node.high.text)
    return low_ok and high_ok
