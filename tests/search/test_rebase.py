"""Which compiled filters move onto asset_counts or asset_tags (and so are counted without `assets`)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from darkroom.catalog.schema import COUNTED_COLUMNS, TAG_COPIED_COLUMNS, asset_counts, asset_tags, assets
from darkroom.catalog.search import compile_where, parse
from darkroom.catalog.search.rebase import rebase

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def _rebased(expression: str, table: sa.Table, columns: tuple[str, ...]) -> str | None:
    where = sa.and_(assets.c.cloud == "c", compile_where(parse(expression), now=NOW, dialect="postgresql"))
    moved = rebase(where, table, columns)
    return None if moved is None else str(moved)


@pytest.mark.parametrize("expression", [
    "format:png",
    "folder:users/* AND format:png",
    "folder=a OR -format:gif",
    "resource_type:image AND type:upload AND format:p*",
])
def test_filters_on_counted_columns_move_onto_asset_counts(expression: str) -> None:
    moved = _rebased(expression, asset_counts, COUNTED_COLUMNS)
    assert moved is not None and "assets." not in moved and "asset_counts.cloud" in moved


@pytest.mark.parametrize("expression", [
    "tags=red",  # a subquery on asset_tags
    "format:png AND -tags=red",
    "bytes>1m",  # not a counted column
    "public_id:shoes",
    "context.alt:sunset",  # a JSON function over assets.context
    "metadata.rating>3",
    "sunset",  # a bare word reads public_id, display_name, tags and context
    "tags:shirt",
])
def test_filters_reading_anything_else_stay_on_assets(expression: str) -> None:
    assert _rebased(expression, asset_counts, COUNTED_COLUMNS) is None


def test_filters_on_copied_columns_move_onto_tag_rows() -> None:
    moved = _rebased("resource_type:image AND uploaded_at>1y AND bytes>1m", asset_tags, TAG_COPIED_COLUMNS)
    assert moved is not None and "assets." not in moved
    assert _rebased("folder:users/*", asset_tags, TAG_COPIED_COLUMNS) is None  # folder is not copied


def test_rebased_clause_keeps_its_bound_values() -> None:
    moved = rebase(sa.and_(assets.c.cloud == "c", assets.c.format == "png"), asset_counts, COUNTED_COLUMNS)
    assert moved is not None
    compiled = moved.compile(compile_kwargs={"literal_binds": True})
    assert str(compiled) == "asset_counts.cloud = 'c' AND asset_counts.format = 'png'"
