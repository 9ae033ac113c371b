"""Syntax tree to a SQLAlchemy Core WHERE clause over `assets`, with every value a bound parameter.

Pure: it takes the tree, the moment "now" (for relative dates) and the dialect's name (the
JSON functions differ between SQLite and PostgreSQL), and returns a clause; nothing is
executed here. Each predicate is two-valued (never SQL NULL), so `NOT x` is exactly the
complement of `x` on both databases.

Text matching, identical on both databases:
  - `:` on free text is a word match: the value (lower-cased, ASCII) must be a whole word of
    the field, where words are separated by whitespace and `/ _ - . ,`; a phrase must appear
    as consecutive words; a trailing `*` makes the last word a prefix.
  - `=` is the exact, case-sensitive value; a trailing `*` makes it a case-sensitive prefix,
    compiled as an index-friendly range plus an exact `substr` check.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.elements import ColumnElement

from darkroom.catalog.schema import asset_tags, assets
from darkroom.catalog.search.fields import FieldSpec, Kind, field_spec
from darkroom.catalog.search.nodes import And, Match, Node, Not, Or, Range, Term, Value
from darkroom.catalog.search.values import DateValue, parse_date, parse_number, parse_ratio, parse_size

__all__ = ["compile_where", "token_match", "starts_with"]

Clause = ColumnElement[bool]

# Word separators for `:` matches (besides space), replaced by spaces on both sides of the LIKE.
SEPARATORS = ("/", "_", "-", ".", ",", "\t", "\n")
RATIO_TOLERANCE = 0.005  # aspect_ratio=1.78 matches 16:9 (1.7778)
TEXT_FIELDS_FOR_TERMS = ("public_id", "display_name")


def compile_where(node: Node, *, now: datetime, dialect: str, metadata_types: Mapping[str, str] | None = None) -> Clause:
    """The WHERE clause selecting the assets `node` matches (the caller adds the cloud filter).

    `metadata_types` maps a metadata field's external_id to its type (string, integer, date,
    enum, set); a typed field compares values its own way, an unknown one by their shape.
    """
    return _Compiler(now, dialect, metadata_types or {}).compile(node)


class _Compiler:
    def __init__(self, now: datetime, dialect: str, metadata_types: Mapping[str, str]) -> None:
        self.now = now
        self.postgres = dialect == "postgresql"
        self.metadata_types = metadata_types

    def compile(self, node: Node) -> Clause:
        if isinstance(node, And):
            return sa.and_(*(self.compile(child) for child in node.children))
        if isinstance(node, Or):
            return sa.or_(*(self.compile(child) for child in node.children))
        if isinstance(node, Not):
            return sa.not_(self.compile(node.child))
        if isinstance(node, Term):
            return self.term(node.value)
        if isinstance(node, Match):
            return self.match(_spec(node.field), node.op, node.value)
        return self.range(_spec(node.field), node)

    # -- bare words -------------------------------------------------------------------------

    def term(self, value: Value) -> Clause:
        """A bare word: a word of public_id or display_name, of any tag, or of any context value."""
        if not value.text and value.wildcard:
            return sa.true()
        clauses = [token_match(assets.c[name], value) for name in TEXT_FIELDS_FOR_TERMS]
        clauses.append(_any_tag_word(value))
        clauses.append(self._any_context_value(lambda text: token_match(text, value)))
        return sa.or_(*clauses)

    def _any_context_value(self, predicate: Callable[[ColumnElement[str]], Clause]) -> Clause:
        function = sa.func.json_each_text if self.postgres else sa.func.json_each
        entries = function(assets.c.context).table_valued("value").alias("context_entry")
        return sa.exists().select_from(entries).where(predicate(entries.c.value)).correlate(assets)

    # -- field OP value ---------------------------------------------------------------------

    def match(self, spec: FieldSpec, op: str, value: Value) -> Clause:
        kind = spec.kind
        if kind is Kind.TAGS:
            return _any_tag_word(value) if op == ":" else _any_tag(lambda tag: _exact(tag, value))
        if kind is Kind.CONTEXT:
            return _not_null_and(assets.c.context[spec.key].as_string(), lambda text: _text(text, op, value))
        if kind is Kind.METADATA:
            return self.metadata(spec.key or "", op, value)
        if kind is Kind.MODERATION_KIND:  # kinds as catalog/moderation.py keeps them: "|aws_rek:approved|manual:pending|"
            by_kind = assets.c.moderation_kinds.contains(f"|{value.text}:", autoescape=True)
            if value.text != "manual":
                return by_kind
            return sa.or_(by_kind, sa.and_(assets.c.moderation_kinds.is_(None), _nonempty(assets.c.moderation_status)))
        if kind is Kind.DATE:
            return self.date_match(assets.c[spec.column or ""], op, value.text)
        if kind in (Kind.NUMBER, Kind.SIZE, Kind.RATIO):
            return _number_match(spec, op, value.text)
        if kind is Kind.PATH:
            return _path(assets.c[spec.column or ""], value)
        column = assets.c[spec.column or ""]
        if kind is Kind.TEXT and spec.name == "public_id" and value.wildcard:
            return starts_with(column, value.text)  # public_id:shoes/* lists ids under shoes/
        if kind is Kind.TEXT:
            return _text(column, op, value)
        return _not_null_and(column, lambda c: _exact(c, value))

    def date_match(self, column: ColumnElement[datetime], op: str, text: str) -> Clause:
        moment = _date(text, self.now)
        if op in (":", "="):
            if moment.relative:
                return column >= moment.start
            if moment.whole_day:
                return sa.and_(column >= moment.start, column < moment.end)
            return column == moment.start
        return _compare_date(column, op, moment)

    def range(self, spec: FieldSpec, node: Range) -> Clause:
        clauses: list[Clause] = []
        if node.low is not None:
            clauses.append(self.match(spec, ">=" if node.low_inclusive else ">", node.low))
        if node.high is not None:
            clauses.append(self.match(spec, "<=" if node.high_inclusive else "<", node.high))
        if not clauses:
            return self.exists_clause(spec)
        return sa.and_(*clauses)

    def exists_clause(self, spec: FieldSpec) -> Clause:
        """`field:[* TO *]`: the field has a value."""
        if spec.kind is Kind.METADATA:
            return self._json_type(assets.c.metadata, spec.key or "").is_not(None)
        if spec.kind is Kind.CONTEXT:
            value: ColumnElement[str] = assets.c.context[spec.key].as_string()
            return value.is_not(None)
        if spec.kind is Kind.TAGS:
            return _any_tag(lambda tag: sa.true())
        return assets.c[spec.column or ""].is_not(None)

    # -- structured metadata ----------------------------------------------------------------

    def metadata(self, key: str, op: str, value: Value) -> Clause:
        """A typed field compares as its type says; an undefined one by the value's shape."""
        kind = self.metadata_types.get(key)
        if kind == "integer":
            return self._metadata_integer(key, op, value)
        if kind == "date":
            return self._metadata_date(key, op, value)
        if kind in ("string", "enum"):
            if op in (":", "="):
                return _not_null_and(self._json_string(key), lambda s: _text(s, op, value) if kind == "string" else _exact(s, value))
            return _not_null_and(self._json_string(key), lambda s: _compare(s, op, value.text))
        if kind == "set":
            return self._json_array_has(key, value.text) if op in (":", "=") and not value.wildcard else sa.false()
        return self._metadata_untyped(key, op, value)

    def _metadata_integer(self, key: str, op: str, value: Value) -> Clause:
        """`metadata.rating>3`, `metadata.rating=4`: numbers, whatever the text looks like; a non-number matches nothing."""
        number = parse_number(value.text)
        if number is None or value.wildcard:
            return sa.false()
        if op in (":", "="):
            return _not_null_and(self._json_number(key), lambda n: n == number)
        return _not_null_and(self._json_number(key), lambda n: _compare(n, op, number))

    def _metadata_date(self, key: str, op: str, value: Value) -> Clause:
        """Date fields hold `YYYY-MM-DD`, which sorts as text; the value may be a day, a moment or relative (`1y`)."""
        moment = parse_date(value.text, self.now)
        if moment is None or value.wildcard:
            return sa.false()
        start, end = moment.start.date().isoformat(), moment.end.date().isoformat()
        if op in (":", "="):
            if moment.relative:
                return _not_null_and(self._json_string(key), lambda s: s >= start)
            return _not_null_and(self._json_string(key), lambda s: s == start)
        if op == ">" and moment.whole_day:
            return _not_null_and(self._json_string(key), lambda s: s >= end)
        if op == "<=" and moment.whole_day:
            return _not_null_and(self._json_string(key), lambda s: s < end)
        return _not_null_and(self._json_string(key), lambda s: _compare(s, op, start))

    def _metadata_untyped(self, key: str, op: str, value: Value) -> Clause:
        """Numbers compare as numbers; other values as text (ISO dates sort as text); `=` also finds set members."""
        number = parse_number(value.text)
        if op not in (":", "="):
            if number is not None:
                return _not_null_and(self._json_number(key), lambda n: _compare(n, op, number))
            return _not_null_and(self._json_string(key), lambda s: _compare(s, op, value.text))
        clauses = [_not_null_and(self._json_string(key), lambda s: _text(s, op, value))]
        if number is not None and not value.wildcard:
            clauses.append(_not_null_and(self._json_number(key), lambda n: n == number))
        if not value.wildcard:
            clauses.append(self._json_array_has(key, value.text))
        return sa.or_(*clauses)

    def _json_type(self, column: sa.Column[Any], key: str) -> ColumnElement[str]:
        if self.postgres:
            return sa.func.json_typeof(column.op("->")(sa.bindparam(None, key, sa.String)))
        return sa.func.json_type(column, _json_path(key))

    def _json_number(self, key: str) -> ColumnElement[float]:
        kind = self._json_type(assets.c.metadata, key)
        if self.postgres:
            raw: ColumnElement[Any] = sa.cast(assets.c.metadata.op("->>")(sa.bindparam(None, key, sa.String)), sa.Float)
            return sa.case((kind == "number", raw), else_=sa.null())
        raw = sa.func.json_extract(assets.c.metadata, _json_path(key))
        return sa.case((kind.in_(("integer", "real")), raw), else_=sa.null())

    def _json_string(self, key: str) -> ColumnElement[str]:
        kind = self._json_type(assets.c.metadata, key)
        if self.postgres:
            raw: ColumnElement[Any] = assets.c.metadata.op("->>")(sa.bindparam(None, key, sa.String))
            return sa.case((kind == "string", raw), else_=sa.null())
        raw = sa.func.json_extract(assets.c.metadata, _json_path(key))
        return sa.case((kind == "text", raw), else_=sa.null())

    def _json_array_has(self, key: str, text: str) -> Clause:
        """A set field (JSON array of datasource ids) has `text` as a member."""
        if self.postgres:
            as_jsonb = sa.cast(assets.c.metadata, postgresql.JSONB)
            member = as_jsonb.op("->")(sa.bindparam(None, key, sa.String)).op("@>")(
                sa.func.jsonb_build_array(sa.cast(sa.bindparam(None, text, sa.String), sa.Text))
            )
            kind = self._json_type(assets.c.metadata, key)
            return sa.and_(kind.is_not(None), kind == "array", member)
        entries = sa.func.json_each(assets.c.metadata, _json_path(key)).table_valued("value", "type").alias("member")
        return sa.and_(
            self._json_type(assets.c.metadata, key) == "array",
            sa.exists().select_from(entries).where(entries.c.type == "text", entries.c.value == text),
        )


# -- shared predicate builders --------------------------------------------------------------


def _spec(name: str) -> FieldSpec:
    spec = field_spec(name)
    if spec is None:  # the parser never builds such a node; a hand-made tree might
        raise ValueError(f"unknown search field {name!r}")
    return spec


def _json_path(key: str) -> ColumnElement[str]:
    return sa.bindparam(None, f'$."{key}"', sa.String)


def _any_tag(predicate: Callable[[ColumnElement[str]], Clause]) -> Clause:
    """Some tag of the asset satisfies `predicate`.

    An uncorrelated `id IN (SELECT asset_pk … WHERE tag …)` rather than a correlated EXISTS:
    both databases then read the tag index once (ix_asset_tags_tag) instead of probing it per asset.
    """
    return assets.c.id.in_(sa.select(asset_tags.c.asset_pk).where(predicate(asset_tags.c.tag)))


def _any_tag_word(value: Value) -> Clause:
    """A tag has the word: a correlated EXISTS, since LIKE cannot use the tag index anyway and
    probing (asset_pk, tag) per candidate beats scanning every tag when other filters are selective."""
    return sa.exists().where(asset_tags.c.asset_pk == assets.c.id, token_match(asset_tags.c.tag, value)).correlate(assets)


def _not_null_and(expression: ColumnElement[Any], predicate: Callable[[ColumnElement[Any]], Clause]) -> Clause:
    """`expression IS NOT NULL AND predicate`: FALSE (never NULL) when the value is missing."""
    return sa.and_(expression.is_not(None), predicate(expression))


def _nonempty(column: ColumnElement[str]) -> Clause:
    return sa.and_(column.is_not(None), column != "")


def _text(column: ColumnElement[str], op: str, value: Value) -> Clause:
    return token_match(column, value) if op == ":" else _exact(column, value)


def _exact(column: ColumnElement[str], value: Value) -> Clause:
    return starts_with(column, value.text) if value.wildcard else column == value.text


def _path(column: ColumnElement[str], value: Value) -> Clause:
    """`folder=a/b` that folder; `folder:a/b/*` it and everything below; `folder:ab*` a name prefix."""
    if value.wildcard and value.text.endswith("/"):
        base = value.text.rstrip("/")
        return sa.or_(column == base, starts_with(column, base + "/"))
    return _exact(column, value)


def starts_with(column: ColumnElement[str], prefix: str) -> Clause:
    """Case-sensitive prefix test that both databases answer from a b-tree index.

    The range `prefix <= column < successor(prefix)` lets the planner use the index (under
    SQLite's BINARY and PostgreSQL's C collation it is already exact); the `substr` check keeps
    the answer exact under any other collation.
    """
    if not prefix:
        return column.is_not(None)
    successor = prefix[:-1] + chr(min(ord(prefix[-1]) + 1, 0x10FFFF))
    exact = sa.func.substr(column, 1, len(prefix)) == prefix
    return sa.and_(column >= prefix, column < successor, exact)


def _ascii_lower(text: str) -> str:
    return "".join(c.lower() if c.isascii() else c for c in text)


def _normalize_words(text: str) -> str:
    for separator in SEPARATORS:
        text = text.replace(separator, " ")
    return _ascii_lower(text)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def token_match(column: ColumnElement[str], value: Value) -> Clause:
    """The value is a whole word (or phrase of words) of the column; with `*`, a word prefix."""
    words = _normalize_words(value.text)
    words = words.lstrip(" ") if value.wildcard else words.strip(" ")
    if not words:
        return column.is_not(None) if value.wildcard else sa.false()
    normalized = sa.func.lower(column)
    for separator in SEPARATORS:
        normalized = sa.func.replace(normalized, separator, " ")
    padded = sa.literal(" ").concat(normalized).concat(sa.literal(" "))
    pattern = "% " + _like_escape(words) + ("%" if value.wildcard else " %")
    return sa.and_(column.is_not(None), padded.like(pattern, escape="\\"))


def _number_match(spec: FieldSpec, op: str, text: str) -> Clause:
    column = assets.c[spec.column or ""]
    reader = {Kind.SIZE: parse_size, Kind.RATIO: parse_ratio}.get(spec.kind, parse_number)
    number = reader(text)
    if number is None:  # the parser has checked; guard hand-made trees
        raise ValueError(f"{text!r} is not a number")
    if op in (":", "=") and spec.kind is Kind.RATIO:
        return _not_null_and(column, lambda c: c.between(number - RATIO_TOLERANCE, number + RATIO_TOLERANCE))
    if isinstance(column.type, sa.Integer):
        return _integer_match(column, op, number)
    if op in (":", "="):
        return _not_null_and(column, lambda c: c == number)
    return _not_null_and(column, lambda c: _compare(c, op, number))


def _integer_match(column: ColumnElement[int], op: str, number: float) -> Clause:
    """Compare an integer column with an integer bound.

    A float parameter makes PostgreSQL compare `bytes::numeric > 1048576.0`, which no index on
    bytes can answer; rounding the bound the right way keeps the same rows: `c > 1.5` is
    `c > 1`, `c >= 1.5` is `c >= 2`, `c = 1.5` matches nothing.
    """
    if abs(number) >= 2**63:  # beyond every stored value, and beyond what the driver can bind
        everything = op in ("<", "<=") if number > 0 else op in (">", ">=")
        return column.is_not(None) if everything else sa.false()
    if op in (":", "="):
        return _not_null_and(column, lambda c: c == int(number)) if number.is_integer() else sa.false()
    bound = math.floor(number) if op in (">", "<=") else math.ceil(number)
    return _not_null_and(column, lambda c: _compare(c, op, bound))


def _compare(column: ColumnElement[Any], op: str, value: object) -> Clause:
    operators: dict[str, Callable[[ColumnElement[Any], object], Clause]] = {
        "<": lambda c, v: c < v,
        "<=": lambda c, v: c <= v,
        ">": lambda c, v: c > v,
        ">=": lambda c, v: c >= v,
    }
    return operators[op](column, value)


def _date(text: str, now: datetime) -> DateValue:
    moment = parse_date(text, now)
    if moment is None:
        raise ValueError(f"{text!r} is not a date")
    return moment


def _compare_date(column: ColumnElement[datetime], op: str, moment: DateValue) -> Clause:
    """A whole day is a unit: `> 2024-01-01` starts on the 2nd, `<= 2024-01-01` ends with the 1st."""
    if op == ">":
        return column >= moment.end if moment.whole_day else column > moment.start
    if op == "<=":
        return column < moment.end if moment.whole_day else column <= moment.start
    return _compare(column, op, moment.start)
