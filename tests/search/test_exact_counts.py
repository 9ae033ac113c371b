"""The copies that make large counts cheap stay exact under every kind of write, on both databases.

`asset_counts` (assets per cloud, resource_type, type, format and folder) and each tag row's copy of
its asset's filter columns are kept by triggers; these tests write through the catalog's own
functions (upload, overwrite, rename, folder move, tag and field updates, single and bulk deletes
with and without backups, restore, cloud deletion) and after each step compare the copies with
`assets` and the searches they answer with a count over `assets`.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from darkroom.catalog import deletion
from darkroom.catalog.assets import NewAsset, delete_asset, rename_asset, save_asset, update_tags
from darkroom.catalog.backups import restore_assets, set_backups
from darkroom.catalog.folders import rename_folder
from darkroom.catalog.schema import COUNTED_COLUMNS, TAG_COPIED_COLUMNS, asset_counts, asset_tags, assets, clouds
from darkroom.catalog.searching import SearchQuery, run_search, where_for
from darkroom.catalog.updates import AssetChanges, update_resource

NOW = datetime(2026, 11, 1, tzinfo=UTC)

# Each is answered from asset_counts, from asset_tags, or (the last ones) from assets.
EXPRESSIONS = (
    "",
    "format:png",
    "folder:a/* AND -format:jpg",
    "resource_type:image AND type:upload",
    "tags=red",
    "tags=red AND format:png AND bytes>1000",
    "tags=blue AND uploaded_at>1d",
    "tags=red AND public_id:a*",
    "bytes>1500",
)


def _new_cloud(engine: Engine) -> str:
    cloud = "counts-" + secrets.token_hex(4)
    with engine.begin() as conn:
        conn.execute(sa.insert(clouds).values(name=cloud, created_at=NOW, strict_transformations=False, settings={}))
    return cloud


def _upload(engine: Engine, cloud: str, public_id: str, fmt: str, size: int, *tags: str, type_: str = "upload") -> None:
    new = NewAsset(cloud=cloud, resource_type="image", type=type_, public_id=public_id, storage_key=f"{cloud}/{public_id}",
                   format=fmt, bytes=size, etag="0" * 32, mime_type=f"image/{fmt}", tags=tags,
                   asset_folder=public_id.rpartition("/")[0])
    save_asset(engine, new, overwrite=True)


def _counted(engine: Engine, cloud: str) -> dict[tuple[str, ...], int]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(asset_counts).where(asset_counts.c.cloud == cloud)).mappings()
        return {tuple(row[name] for name in COUNTED_COLUMNS): row["assets"] for row in rows}


def _grouped(engine: Engine, cloud: str) -> dict[tuple[str, ...], int]:
    key = [assets.c[name] for name in COUNTED_COLUMNS]
    with engine.connect() as conn:
        rows = conn.execute(sa.select(*key, sa.func.count()).where(assets.c.cloud == cloud).group_by(*key))
        return {tuple(row[:-1]): row[-1] for row in rows}


def _stale_tag_rows(engine: Engine, cloud: str) -> int:
    differs = sa.or_(*(asset_tags.c[name] != assets.c[name] for name in TAG_COPIED_COLUMNS))
    joined = asset_tags.join(assets, assets.c.id == asset_tags.c.asset_pk)
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(joined).where(assets.c.cloud == cloud, differs)).scalar_one())


def _brute_count(engine: Engine, cloud: str, expression: str) -> int:
    with engine.connect() as conn:
        where = where_for(conn, cloud, expression, NOW)
        return int(conn.execute(sa.select(sa.func.count()).select_from(assets).where(where)).scalar_one())


def assert_exact(engine: Engine, cloud: str) -> None:
    assert _counted(engine, cloud) == _grouped(engine, cloud)
    assert _stale_tag_rows(engine, cloud) == 0
    for expression in EXPRESSIONS:
        query = SearchQuery(expression=expression, max_results=1)
        assert run_search(engine, cloud, query, NOW).total_count == _brute_count(engine, cloud, expression), expression
    aggregated = run_search(engine, cloud, SearchQuery(max_results=1, aggregate=("format", "folder")), NOW)
    with engine.connect() as conn:
        formats = dict(conn.execute(sa.select(assets.c.format, sa.func.count()).where(assets.c.cloud == cloud).group_by(assets.c.format)).all())
    assert aggregated.aggregations["format"] == {k: v for k, v in formats.items() if k}
    assert aggregated.total_count == sum(formats.values())


def _library(engine: Engine) -> str:
    cloud = _new_cloud(engine)
    _upload(engine, cloud, "a/one", "png", 1200, "red")
    _upload(engine, cloud, "a/two", "png", 2000, "red", "blue")
    _upload(engine, cloud, "a/b/three", "jpg", 800, "blue")
    _upload(engine, cloud, "c/four", "gif", 5000, "red")
    _upload(engine, cloud, "five", "png", 100)
    return cloud


def test_counts_follow_uploads_and_overwrites(engine: Engine) -> None:
    cloud = _library(engine)
    assert_exact(engine, cloud)
    _upload(engine, cloud, "a/one", "jpg", 3000, "red", "green")  # overwrite: new format, size, tags
    assert_exact(engine, cloud)
    assert _counted(engine, cloud)[(cloud, "image", "upload", "png", "a")] == 1


def test_counts_follow_renames_folder_moves_and_field_updates(engine: Engine) -> None:
    cloud = _library(engine)
    rename_asset(engine, cloud, "image", "upload", "a/two", "private", "z/two", overwrite=False)
    assert_exact(engine, cloud)
    rename_asset(engine, cloud, "image", "upload", "a/b/three", "upload", "c/four", overwrite=True)  # replaces c/four
    assert_exact(engine, cloud)
    rename_folder(engine, cloud, "a", "moved")  # asset_folder only: counted keys unchanged
    update_resource(engine, cloud, "image", "upload", "five", AssetChanges(tags=["red", " blue "], display_name="5"))
    update_tags(engine, cloud, "image", "upload", ["a/one"], "set_exclusive", ["blue"])
    assert_exact(engine, cloud)


def test_counts_follow_single_and_bulk_deletes(engine: Engine) -> None:
    cloud = _library(engine)
    delete_asset(engine, cloud, "image", "upload", "five")
    assert_exact(engine, cloud)
    deletion.delete_by_public_ids(engine, cloud, "image", "upload", ["a/one", "missing"], deletion.Target())
    assert_exact(engine, cloud)
    deletion.delete_matching(engine, cloud, "image", "upload", tag="blue")
    assert_exact(engine, cloud)
    deletion.delete_matching(engine, cloud, "image", None, everything=True)
    assert_exact(engine, cloud)
    assert _counted(engine, cloud) == {}  # a group whose last asset went is removed


def test_counts_follow_deletes_kept_as_backups_and_restores(engine: Engine) -> None:
    cloud = _library(engine)
    set_backups(engine, cloud, True)
    deletion.delete_matching(engine, cloud, "image", "upload", prefix="a/")
    assert_exact(engine, cloud)
    restored = restore_assets(engine, cloud, "image", "upload", ["a/one", "a/b/three"], [], NOW)
    assert sorted(restored.assets) == ["a/b/three", "a/one"]
    assert_exact(engine, cloud)


def test_deleting_a_cloud_removes_its_counts_and_leaves_others(engine: Engine) -> None:
    doomed, kept = _library(engine), _library(engine)
    with engine.begin() as conn:
        conn.execute(sa.delete(clouds).where(clouds.c.name == doomed))
    assert _counted(engine, doomed) == {}
    assert_exact(engine, kept)



def _count_statements(engine: Engine, cloud: str, expression: str, aggregate: tuple[str, ...] = ()) -> list[str]:
    seen: list[str] = []

    def record(conn: object, cursor: object, statement: str, *_: object) -> None:
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        run_search(engine, cloud, SearchQuery(expression=expression, max_results=1, aggregate=aggregate), NOW)
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    return [statement for statement in seen if "count(" in statement or "sum(" in statement]


def test_counts_read_the_smallest_table_that_can_tell(engine: Engine) -> None:
    """A regression to counting `assets` would still pass the exactness tests; this pins where counts come from."""
    cloud = _library(engine)
    (counted,) = _count_statements(engine, cloud, "folder:a/* AND format:png")
    assert "FROM asset_counts" in counted
    (grouped,) = _count_statements(engine, cloud, "", ("format",))
    assert "FROM asset_counts" in grouped
    (tagged,) = _count_statements(engine, cloud, "tags=red AND bytes>10")
    assert "FROM asset_tags" in tagged and "assets." not in tagged
    (fallback,) = _count_statements(engine, cloud, "tags=red AND public_id:a*")
    assert "FROM assets" in fallback
