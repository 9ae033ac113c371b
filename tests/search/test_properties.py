"""Property tests: canonical text round-trips, and every accepted expression means the same on both databases."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from darkroom.catalog.schema import assets
from darkroom.catalog.search import And, Match, Node, Not, Or, Range, SearchSyntaxError, Term, Value, compile_where, parse
from tests.search import corpus

TEXTS = st.text(alphabet="abcdeoprstuShikBX 0123-_/.%\\\"*:()&|!é", min_size=0, max_size=8)
WORDS = st.sampled_from(["shoe", "shirt", "SHOE", "blue shirt", "products/shoes/", "next-cloudinary-uploads", "My Album",
                         "kitten", "pants", "sunset", "50%_off", "red", "jpg", "png", "image", "upload", "m", "blue"])
VALUES_TEXT = st.builds(Value, st.one_of(WORDS, TEXTS), st.booleans(), st.booleans())
NUMBERS = st.one_of(st.integers(-5, 3000).map(str), st.sampled_from(["0", "1.5", "1.77778", "600", "1920", "12.5"]))
SIZES = st.one_of(NUMBERS.filter(lambda n: not n.startswith("-")), st.sampled_from(["1kb", "2K", "1m", "0.5mb", "1gb", "2000b"]))
RATIOS = st.one_of(NUMBERS.filter(lambda n: not n.startswith("-")), st.sampled_from(["16:9", "4:3", "1:1"]))
DATES = st.sampled_from(["2024-01-01", "2024-02-01", "2024-01-15", "2025-06-14", "1d", "2w", "3m", "1y", "6h",
                         "2024-02-01T23:00:00Z", "2025-06-15 09:00:00"])

TEXT_FIELDS = ["public_id", "filename", "display_name", "folder", "asset_folder", "resource_type", "type", "format",
               "access_mode", "status", "moderation_status", "etag", "tags", "context.alt", "context.missing"]
COMPARABLE = {"width": NUMBERS, "height": NUMBERS, "pixels": NUMBERS, "duration": NUMBERS, "bytes": SIZES,
              "aspect_ratio": RATIOS, "created_at": DATES, "uploaded_at": DATES,
              "metadata.rating": NUMBERS, "metadata.released": DATES.filter(lambda d: d[0] == "2")}


def _plain(values: st.SearchStrategy[str]) -> st.SearchStrategy[Value]:
    return values.map(Value)


LEAVES: st.SearchStrategy[Node] = st.one_of(
    st.builds(Term, VALUES_TEXT),
    st.builds(Match, st.sampled_from(TEXT_FIELDS), st.sampled_from([":", "="]), VALUES_TEXT),
    st.builds(Match, st.sampled_from(["metadata.color", "metadata.sizes"]), st.sampled_from([":", "="]), VALUES_TEXT),
    st.sampled_from(sorted(COMPARABLE)).flatmap(
        lambda f: st.builds(Match, st.just(f), st.sampled_from([":", "=", "<", "<=", ">", ">="]), _plain(COMPARABLE[f]))
    ),
    st.sampled_from(sorted(COMPARABLE)).flatmap(
        lambda f: st.builds(Range, st.just(f), st.none() | _plain(COMPARABLE[f]), st.none() | _plain(COMPARABLE[f]),
                            st.booleans(), st.booleans())
    ),
)

TREES: st.SearchStrategy[Node] = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.builds(Not, inner),
        st.lists(inner, min_size=2, max_size=3).map(lambda c: And(tuple(c))),
        st.lists(inner, min_size=2, max_size=3).map(lambda c: Or(tuple(c))),
    ),
    max_leaves=6,
)


def _flat(node: Node) -> Node:
    """Nested And-in-And (or Or-in-Or) renders without parentheses and parses back flat."""
    if isinstance(node, Not):
        return Not(_flat(node.child))
    if isinstance(node, (And, Or)):
        children: list[Node] = []
        for child in map(_flat, node.children):
            children.extend(child.children if type(child) is type(node) else (child,))  # type: ignore[union-attr]
        return type(node)(tuple(children))
    return node


def _valid(node: Node) -> bool:
    try:
        parse(node.render())
    except SearchSyntaxError:
        return False
    return True


@given(TREES)
def test_rendered_text_parses_back_to_the_same_tree(tree: Node) -> None:
    try:
        parsed = parse(tree.render())
    except SearchSyntaxError:
        return  # e.g. a metadata string value compared with `>`: the generator is looser than the language
    assert parsed == _flat(tree)
    assert parse(parsed.render()) == parsed


@given(st.text(alphabet='ab:=<>()[]{}"*\\ -!&|TOANDR.tags', max_size=30))
def test_any_text_parses_or_fails_with_a_syntax_error(text: str) -> None:
    try:
        tree = parse(text)
    except SearchSyntaxError as error:
        assert 0 <= error.position <= len(text)
        return
    assert parse(tree.render()) == tree


def _matching(engine: Engine, tree: Node) -> set[str]:
    where = compile_where(tree, now=corpus.NOW, dialect=engine.dialect.name)
    with engine.connect() as conn:
        statement = sa.select(assets.c.public_id).where(assets.c.cloud == corpus.CLOUD, where)
        return {public_id for (public_id,) in conn.execute(statement)}


@pytest.fixture(scope="module")
def both(sqlite_engine: Engine, postgres_engine: Engine) -> tuple[Engine, Engine]:
    corpus.load(sqlite_engine)
    corpus.load(postgres_engine)
    return sqlite_engine, postgres_engine


@pytest.mark.postgres
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TREES)
def test_accepted_expression_selects_the_same_assets_on_both_databases(both: tuple[Engine, Engine], tree: Node) -> None:
    if not _valid(tree):
        return
    tree = parse(tree.render())
    sqlite_engine, postgres_engine = both
    assert _matching(sqlite_engine, tree) == _matching(postgres_engine, tree), tree.render()


@pytest.mark.postgres
@settings(max_examples=100, deadline=None)
@given(tree=TREES)
def test_not_is_the_exact_complement_on_both_databases(both: tuple[Engine, Engine], tree: Node) -> None:
    if not _valid(tree):
        return
    tree = parse(tree.render())
    everything = {row["public_id"] for row, _ in corpus.ASSETS}
    for engine in both:
        assert _matching(engine, tree) | _matching(engine, Not(tree)) == everything
        assert not _matching(engine, tree) & _matching(engine, Not(tree))
