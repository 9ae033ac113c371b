"""The expression parser: precedence, literals, canonical text, descriptions and positioned errors."""

from __future__ import annotations

import pytest

from darkroom.api.errors import status_for
from darkroom.catalog.search import And, Match, Not, Or, Range, SearchSyntaxError, Term, Value, parse
from darkroom.errors import Invalid


def m(field: str, op: str, text: str, wildcard: bool = False) -> Match:
    return Match(field, op, Value(text, wildcard=wildcard))  # type: ignore[arg-type]


def t(text: str, wildcard: bool = False) -> Term:
    return Term(Value(text, wildcard=wildcard))


PARSES = [
    ("cat", t("cat")),
    ("cat dog", And((t("cat"), t("dog")))),
    ("cat AND dog", And((t("cat"), t("dog")))),
    ("cat && dog", And((t("cat"), t("dog")))),
    ("cat OR dog", Or((t("cat"), t("dog")))),
    ("a OR b AND c", Or((t("a"), And((t("b"), t("c")))))),
    ("a AND b OR c", Or((And((t("a"), t("b"))), t("c")))),
    ("NOT a AND b", And((Not(t("a")), t("b")))),
    ("-a b", And((Not(t("a")), t("b")))),
    ("!a", Not(t("a"))),
    ("NOT NOT a", Not(Not(t("a")))),
    ("(a OR b) c", And((Or((t("a"), t("b"))), t("c")))),
    ("a-b", t("a-b")),
    ("tags=kitten", m("tags", "=", "kitten")),
    ("tags:kit*", m("tags", ":", "kit", True)),
    ("folder:products/*", m("folder", ":", "products/", True)),
    ("bytes>1m", m("bytes", ">", "1m")),
    ("width<=100", m("width", "<=", "100")),
    ("width>=100", m("width", ">=", "100")),
    ("width: 100", m("width", ":", "100")),
    ("metadata.rating>-3", m("metadata.rating", ">", "-3")),
    ('asset_folder="My Album"', m("asset_folder", "=", "My Album")),
    ("asset_folder=My\\ Album", m("asset_folder", "=", "My Album")),
    ('"long pants"', t("long pants")),
    ('"a \\" quote"', t('a " quote')),
    ('"star\\*"', t("star*")),
    ('"prefix*"', t("prefix", True)),
    ("\\AND", t("AND")),
    ("context.alt:sunset", m("context.alt", ":", "sunset")),
    ("created_at:[2024-01-01 TO 2024-02-01]", Range("created_at", Value("2024-01-01"), Value("2024-02-01"))),
    ("bytes:{0 TO 100kb}", Range("bytes", Value("0"), Value("100kb"), False, False)),
    ("bytes:[10 TO *}", Range("bytes", Value("10"), None, True, False)),
    ("bytes:[* TO 10]", Range("bytes", None, Value("10"))),
]


@pytest.mark.parametrize(("text", "tree"), PARSES, ids=[p[0] for p in PARSES])
def test_expression_parses_to_tree(text: str, tree: object) -> None:
    assert parse(text) == tree


@pytest.mark.parametrize(("text", "tree"), PARSES, ids=[p[0] for p in PARSES])
def test_rendered_tree_parses_back_to_itself(text: str, tree: object) -> None:
    assert parse(parse(text).render()) == tree


ERRORS = [
    ("", 0, "empty expression"),
    ("tags=", 5, "expected a value"),
    ("(a", 2, "expected ')'"),
    ("a)", 1, "unexpected ')'"),
    ("a AND", 5, "expected a search term"),
    ("OR a", 0, "expected a search term"),
    ("foo:bar", 0, "unknown field 'foo'"),
    ("context.:x", 0, "unknown field"),
    ('x "open', 2, "unterminated quoted phrase"),
    ("width>abc", 6, "not a valid value for width"),
    ("created_at>yesterday", 11, "not a valid date"),
    ("format>png", 7, "cannot be compared"),
    ("tags:[a TO b]", 5, "does not take a range"),
    ("width:10*", 6, "does not take a wildcard"),
    ("a*b", 1, "may only end a value"),
    ("bytes:[1 TO 2", 13, "expected ']' or '}'"),
    ("bytes:[1 2]", 9, "expected 'TO'"),
    ("a & b", 2, "unexpected '&'"),
    ("a^2", 1, "unexpected '^'"),
    ("trailing\\", 8, "backslash"),
]


@pytest.mark.parametrize(("text", "position", "reason"), ERRORS, ids=[e[0] or "<empty>" for e in ERRORS])
def test_malformed_expression_is_rejected_at_its_position(text: str, position: int, reason: str) -> None:
    with pytest.raises(SearchSyntaxError) as caught:
        parse(text)
    assert caught.value.position == position
    assert reason in caught.value.message
    assert f"at position {position}" in caught.value.message


def test_syntax_error_is_a_bad_request() -> None:
    with pytest.raises(Invalid) as caught:
        parse("(")
    assert status_for(caught.value) == 400


def test_deep_nesting_is_refused_not_a_crash() -> None:
    with pytest.raises(SearchSyntaxError, match="nested too deeply"):
        parse("(" * 500 + "a" + ")" * 500)


def test_tree_describes_itself_in_words() -> None:
    tree = parse("(tags=cat OR tags=dog) AND NOT format:gif AND bytes:[1 TO 10kb}")
    assert tree.describe() == (
        "(tags equals 'cat' or tags equals 'dog') and not format matches 'gif' "
        "and bytes is at least '1' and less than '10kb'"
    )
    assert parse("folder:a/*").describe() == "folder matches 'a/' followed by anything"


def test_public_surface_is_pinned() -> None:
    import darkroom.catalog.search as search

    assert sorted(search.__all__) == sorted([
        "parse", "compile_where", "SearchError", "SearchSyntaxError", "FIELDS", "SORTABLE", "FieldSpec", "Kind",
        "field_spec", "Node", "And", "Or", "Not", "Term", "Match", "Range", "Value",
    ])
    assert all(hasattr(search, name) for name in search.__all__)
