"""Catalog functions the live-server tests cannot reach cheaply: bulk-delete batches, metadata validation for uploads."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from darkroom.catalog import deletion
from darkroom.catalog.schema import assets, clouds, metadata


@pytest.fixture
def engine(tmp_path: Path) -> sa.engine.Engine:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'd.db'}")
    metadata.create_all(engine)
    now = datetime(2025, 1, 1, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(sa.insert(clouds).values(name="c", created_at=now, strict_transformations=False, settings={}))
        conn.execute(sa.insert(assets), [
            {"cloud": "c", "asset_id": f"{i:032x}", "resource_type": "image", "type": "upload", "public_id": f"p/{i}",
             "version": 1, "version_id": "0", "storage_key": f"c/{i}", "created_at": now, "uploaded_at": now,
             "context": {}, "metadata": {}}
            for i in range(7)
        ])
    return engine


def test_bulk_delete_is_partial_with_a_cursor_until_done(engine: sa.engine.Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deletion, "BATCH", 3)
    deleted: list[str] = []
    cursor = None
    rounds = 0
    while True:
        outcome = deletion.delete_matching(engine, "c", "image", "upload", prefix="p/", next_cursor=cursor)
        deleted += list(outcome.deleted)
        rounds += 1
        if not outcome.partial:
            assert outcome.next_cursor is None
            break
        cursor = outcome.next_cursor
    assert rounds == 3 and sorted(deleted) == sorted(f"p/{i}" for i in range(7))
    assert len(outcome.storage_keys) == 1


def test_keep_original_pages_through_without_deleting(engine: sa.engine.Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deletion, "BATCH", 5)
    first = deletion.delete_matching(engine, "c", "image", "upload", everything=True, target=deletion.Target(keep_original=True))
    assert first.partial and len(first.deleted) == 5
    second = deletion.delete_matching(engine, "c", "image", "upload", everything=True,
                                      target=deletion.Target(keep_original=True), next_cursor=first.next_cursor)
    assert not second.partial and len(second.deleted) == 2
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(assets)).scalar_one() == 7


def test_upload_api_can_validate_metadata_with_the_same_rules(engine: sa.engine.Engine) -> None:
    from darkroom.catalog import metadata_fields
    from darkroom.errors import BadRequest

    metadata_fields.add_field(engine, "c", {"type": "integer", "external_id": "n", "label": "N"})
    assert metadata_fields.validate_asset_metadata(engine, "c", {"n": "3"}) == {"n": 3}
    with pytest.raises(BadRequest, match="Metadata field n"):
        metadata_fields.validate_asset_metadata(engine, "c", {"n": "three"})
    assert metadata_fields.validate_asset_metadata(engine, "c", {"n": "three", "x": "1"}, {"n": 1}, clear_invalid=True) == {}
