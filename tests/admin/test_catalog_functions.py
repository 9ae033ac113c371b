"""Catalog functions the live-server tests cannot reach cheaply: bulk-delete batches, metadata validation for uploads."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from darkroom.catalog import deletion, update_tags
from darkroom.catalog.backups import set_backups
from darkroom.catalog.schema import asset_tags, assets, clouds, deleted_assets, derived, metadata


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


@pytest.fixture
def tagged(engine: sa.engine.Engine) -> sa.engine.Engine:
    """The 7 assets tagged `all` and `n{i}`, each with derivatives `w_1` and `w_2` (JPEG)."""
    now = datetime(2025, 1, 1, tzinfo=UTC)
    for i in range(7):
        update_tags(engine, "c", "image", "upload", [f"p/{i}"], "add", ["all", f"n{i}"])
    with engine.begin() as conn:
        pks = [pk for (pk,) in conn.execute(sa.select(assets.c.id))]
        conn.execute(sa.insert(derived), [
            {"asset_pk": pk, "version": 1, "transformation": f"w_{n}", "format": "jpg", "storage_key": f"d/{pk}/{n}", "created_at": now}
            for pk in pks for n in (1, 2)
        ])
    return engine


def _count(engine: sa.engine.Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def _statements_during(engine: sa.engine.Engine, action: Callable[[], object]) -> int:
    executed: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda _c, _cur, statement, *_: executed.append(statement))
    action()
    return len(executed)


@pytest.mark.parametrize("backups", [False, True])
def test_bulk_delete_takes_the_same_few_statements_for_any_number_of_assets(tagged: sa.engine.Engine, backups: bool) -> None:
    set_backups(tagged, "c", backups)
    outcomes: list[deletion.Deletion] = []
    statements = _statements_during(tagged, lambda: outcomes.append(deletion.delete_matching(tagged, "c", "image", "upload", tag="all")))
    assert statements <= 9  # select, settings, derivatives, 3 for tombstones, tags, assets (per asset this was 4–7)
    outcome = outcomes[0]
    assert outcome.deleted == {f"p/{i}": "deleted" for i in range(7)}
    assert outcome.counts == {f"p/{i}": {"original": 1, "derived": 2} for i in range(7)}
    originals = {f"c/{i}" for i in range(7)}
    assert originals.isdisjoint(outcome.storage_keys) if backups else originals <= set(outcome.storage_keys)
    assert len(outcome.storage_keys) == 14 + (0 if backups else 7)
    assert (_count(tagged, assets), _count(tagged, asset_tags), _count(tagged, derived)) == (0, 0, 0)
    assert _count(tagged, deleted_assets) == (7 if backups else 0)


def test_backups_keep_each_assets_row_and_tags(tagged: sa.engine.Engine) -> None:
    set_backups(tagged, "c", True)
    deletion.delete_by_public_ids(tagged, "c", "image", "upload", ["p/3", "p/5", "p/missing"], deletion.Target())
    with tagged.connect() as conn:
        kept = {row.public_id: row for row in conn.execute(sa.select(deleted_assets))}
    assert set(kept) == {"p/3", "p/5"}
    assert kept["p/3"].tags == ["all", "n3"] and kept["p/3"].row["storage_key"] == "c/3"
    assert kept["p/5"].row["created_at"].startswith("2025-01-01T00:00:00")  # ISO text, as restore reads it back


def test_listed_delete_reports_each_id_in_the_order_asked(tagged: sa.engine.Engine) -> None:
    outcome = deletion.delete_by_public_ids(tagged, "c", "image", "upload", ["p/6", "nope", "p/0"], deletion.Target())
    assert list(outcome.deleted.items()) == [("p/6", "deleted"), ("nope", "not_found"), ("p/0", "deleted")]
    assert set(outcome.counts) == {"p/6", "p/0"}


def test_deleting_one_transformation_keeps_the_rest(tagged: sa.engine.Engine) -> None:
    target = deletion.Target(transformations=("w_2/jpg",))
    outcome = deletion.delete_by_public_ids(tagged, "c", "image", "upload", ["p/1", "p/2"], target)
    assert outcome.counts == {"p/1": {"original": 0, "derived": 1}, "p/2": {"original": 0, "derived": 1}}
    assert sorted(key.rsplit("/", 1)[1] for key in outcome.storage_keys) == ["2", "2"]
    assert (_count(tagged, assets), _count(tagged, asset_tags), _count(tagged, derived)) == (7, 14, 12)


def test_upload_api_can_validate_metadata_with_the_same_rules(engine: sa.engine.Engine) -> None:
    from darkroom.catalog import metadata_fields
    from darkroom.errors import Invalid

    metadata_fields.add_field(engine, "c", {"type": "integer", "external_id": "n", "label": "N"})
    assert metadata_fields.validate_asset_metadata(engine, "c", {"n": "3"}) == {"n": 3}
    with pytest.raises(Invalid, match="Metadata field n"):
        metadata_fields.validate_asset_metadata(engine, "c", {"n": "three"})
    assert metadata_fields.validate_asset_metadata(engine, "c", {"n": "three", "x": "1"}, {"n": 1}, clear_invalid=True) == {}
