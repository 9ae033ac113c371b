"""Documented search expressions against a known corpus, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from darkroom.catalog.schema import assets
from darkroom.catalog.search import compile_where, parse
from tests.search import corpus

ALL = set(range(len(corpus.ASSETS)))

CASES: list[tuple[str, set[int]]] = [
    ("folder=next-cloudinary-uploads", {4}),
    ("folder:next-cloudinary-uploads/*", {4, 5}),
    ("folder:products/*", {0, 1, 2, 3, 11}),
    ('asset_folder="My Album"', {6}),
    ("asset_folder:My\\ Album", {6}),
    ("tags:shirt", {1, 2, 3}),
    ("tags=shirt", {2}),
    ("tags=Shirt", {3}),
    ("tags:shoe", {0, 1, 10}),
    ("tags=shoe*", {0, 1}),
    ("tags=50%_off", {11}),
    ("tags=50%", set()),
    ("tags:50%*", {11}),
    ("public_id:products/shoes/*", {0, 1}),
    ("public_id:shoes", {0, 1, 10}),
    ("public_id=dog", {7}),
    ("filename=dune", {5}),
    ('display_name:"long pants"', {2}),
    ("format:png OR format:gif", {1, 2}),
    ("format:png || format:gif", {1, 2}),
    ("resource_type:image -format:gif", {0, 1, 3, 4, 5, 6, 7, 10, 11}),
    ("resource_type:image && !format:gif", {0, 1, 3, 4, 5, 6, 7, 10, 11}),
    ("NOT tags:archived AND type:upload", ALL - {3}),
    ("resource_type=raw", {8}),
    ("created_at>\"2024-01-01\"", ALL),
    ("created_at<2024-02-02", {5, 6}),
    ("created_at<=2024-02-01", {5, 6}),
    ("created_at:2024-02-01", {6}),
    ("created_at=\"2024-02-01T23:00:00Z\"", {6}),
    ("created_at:[2024-01-01 TO 2024-02-01]", {5, 6}),
    ("created_at:{2024-01-15 TO 2024-02-02}", {6}),
    ("uploaded_at>1d", {0, 4}),
    ("created_at>1w", {0, 1, 2, 3, 4}),
    ("created_at<1y", {5, 6, 7}),
    ("bytes>1m", {2}),
    ("bytes:{0 TO 2kb}", {0, 1}),
    ("bytes:[* TO 0]", {8}),
    ("bytes>1.5kb", ALL - {0, 8}),  # fractional bounds on integer columns round the right way
    ("bytes>=1.5kb", ALL - {0, 8}),
    ("bytes<1.5kb", {0, 8}),
    ("bytes<=1.9kb", {0, 8}),
    ("bytes=1000.5", set()),
    ("bytes=1000", {0}),
    ("width>1599.5", {3, 4}),
    ('aspect_ratio="16:9"', {3, 4}),
    ("aspect_ratio>1.5", {3, 4}),
    ("width>=1600", {3, 4}),
    ("NOT width>0", {8}),
    ("duration>10", {9}),
    ("access_mode=authenticated", {9}),
    ("moderation_status=approved", {7}),
    ("moderation_kind:manual", {7}),
    (f"asset_id={7:032x}", {7}),
    (f"asset_id:{7:032x}", {7}),
    ("context.alt:sunset", {0}),
    ("context.alt:boot", {0}),
    ("context.alt=pants", {2}),
    ("metadata.color=blue", {1}),
    ("metadata.rating>3", {0}),
    ("metadata.rating:[3 TO 4]", {1}),
    ("metadata.sizes=m", {1, 10}),
    ("metadata.released>=2024-01-01", {3}),
    ("(tags=cat OR tags=dog) AND resource_type:image", {6, 7}),
    ("tags=cat OR tags=dog AND resource_type:video", {6}),
    ("kitten", {4, 9}),
    ("sunset", {0}),
    ("boot", {0}),
    ("cotton*", {11}),
    ('"long pants"', {2}),
    ("-tags:*", {8}),
    ("*", ALL),
    ("status=active", ALL),
]


def _matching(engine: Engine, expression: str) -> set[int]:
    where = compile_where(parse(expression), now=corpus.NOW, dialect=engine.dialect.name)
    statement = sa.select(assets.c.asset_id).where(assets.c.cloud == corpus.CLOUD, where)
    with engine.connect() as conn:
        return {int(asset_id, 16) for (asset_id,) in conn.execute(statement)}


@pytest.fixture(scope="module")
def loaded(engine: Engine) -> Engine:
    corpus.load(engine)
    return engine


@pytest.mark.parametrize(("expression", "expected"), CASES, ids=[c[0] for c in CASES])
def test_expression_matches_documented_assets(loaded: Engine, expression: str, expected: set[int]) -> None:
    assert _matching(loaded, expression) == expected


def test_values_are_bound_parameters_never_pasted(loaded: Engine) -> None:
    hostile = "x' OR '1'='1"
    where = compile_where(parse(f'tags="{hostile}" OR context.alt:"{hostile}"'), now=corpus.NOW, dialect=loaded.dialect.name)
    sql = str(sa.select(assets.c.id).where(where).compile(dialect=loaded.dialect))
    assert "1'='1" not in sql
    assert _matching(loaded, f'tags="{hostile}"') == set()


# The corpus's metadata typed as a cloud's field definitions would type it.
TYPES = {"color": "string", "rating": "integer", "sizes": "set", "released": "date", "code": "string"}
TYPED_CASES: list[tuple[str, set[int]]] = [
    ("metadata.rating>3", {0}),
    ("metadata.rating=3", {1}),
    ("metadata.rating:[3 TO 5]", {0, 1}),
    ("metadata.rating=three", set()),  # not a number: an integer field holds none
    ("metadata.color:blue", {1}),
    ("metadata.color=bl*", {1}),
    ("metadata.color>c", {0}),  # a string field compares as text
    ("metadata.sizes=m", {1, 10}),
    ("metadata.sizes=x", set()),
    ("metadata.released=2024-03-01", {3}),
    ("metadata.released>2024-02-29", {3}),
    ("metadata.released>2024-03-01", set()),  # a whole day is a unit
    ("metadata.released<=2024-03-01", {3}),
    ("metadata.released>2y", {3}),  # relative to the corpus's NOW (2025-06-15)
    ("metadata.released>1y", set()),
    ("metadata.released:[2024-01-01 TO 2024-12-31]", {3}),
]


@pytest.mark.parametrize(("expression", "expected"), TYPED_CASES, ids=[c[0] for c in TYPED_CASES])
def test_metadata_compares_as_its_field_type_says(loaded: Engine, expression: str, expected: set[int]) -> None:
    where = compile_where(parse(expression), now=corpus.NOW, dialect=loaded.dialect.name, metadata_types=TYPES)
    statement = sa.select(assets.c.asset_id).where(assets.c.cloud == corpus.CLOUD, where)
    with loaded.connect() as conn:
        assert {int(asset_id, 16) for (asset_id,) in conn.execute(statement)} == expected


def test_tag_count_is_exact_alone_and_beside_another_cloud(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> None:
    """`tags=x` counts this cloud's rows of the tag index, whether or not another cloud uses the same tag."""
    from darkroom.catalog.assets import insert_tags
    from darkroom.catalog.schema import clouds, metadata
    from darkroom.catalog.searching import SearchQuery, run_search

    alone = sa.create_engine(f"sqlite:///{tmp_path_factory.mktemp('alone') / 'alone.db'}")
    metadata.create_all(alone)
    corpus.load(alone)
    for db in (alone, engine):
        corpus.load(db)
        result = run_search(db, corpus.CLOUD, SearchQuery(expression="tags=shoe", max_results=1), corpus.NOW)
        assert result.total_count == len(_matching(db, "tags=shoe")) == 2
    neighbour = "other-" + corpus.CLOUD
    with alone.begin() as conn:
        conn.execute(sa.insert(clouds).values(name=neighbour, created_at=corpus.NOW, strict_transformations=False, settings={}))
        row = dict(corpus.ASSETS[0][0], cloud=neighbour, asset_id="f" * 32)
        pk = conn.execute(sa.insert(assets).values(**row)).inserted_primary_key[0]
        insert_tags(conn, pk, ["shoe"])
    result = run_search(alone, corpus.CLOUD, SearchQuery(expression="tags=shoe", max_results=1), corpus.NOW)
    assert result.total_count == 2
    assert run_search(alone, neighbour, SearchQuery(expression="tags=shoe", max_results=1), corpus.NOW).total_count == 1
    alone.dispose()
