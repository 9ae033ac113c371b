"""Assets: the record of each stored original, and the writes the Upload API makes.

A write is visible only when complete: the caller stores the blob first, then calls one of
these functions, each of which is a single transaction.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from darkroom.catalog.errors import AssetExists, AssetNotFound, InvalidPublicId, duplicate_is_conflict
from darkroom.catalog.cloud_settings import fixed_folders
from darkroom.catalog.schema import TAG_COPIED_COLUMNS, asset_tags, assets, derived
from darkroom.catalog.tombstones import backed_up_pks, keep_snapshots, kept_by_snapshots
from darkroom.errors import Invalid

__all__ = [
    "Asset",
    "NewAsset",
    "SaveResult",
    "validate_public_id",
    "get_asset",
    "save_asset",
    "delete_asset",
    "rename_asset",
    "update_tags",
    "insert_tags",
    "update_context",
    "derived_storage_keys",
]

MAX_PUBLIC_ID_LENGTH = 255


@dataclass(frozen=True)
class Asset:
    pk: int
    cloud: str
    asset_id: str
    resource_type: str
    type: str
    public_id: str
    folder: str
    asset_folder: str
    display_name: str
    original_filename: str
    version: int
    version_id: str
    format: str
    bytes: int
    width: int | None
    height: int | None
    pages: int | None
    duration: float | None
    video_metadata: dict[str, Any]  # {} unless video/audio
    etag: str
    storage_key: str
    mime_type: str
    placeholder: bool
    access_mode: str
    context: dict[str, str]
    metadata: dict[str, Any]
    tags: tuple[str, ...]
    created_at: datetime
    uploaded_at: datetime
    annotations: dict[str, Any] = field(default_factory=dict)  # the add-ons' findings (schema.py)


@dataclass(frozen=True)
class NewAsset:
    """What an upload knows about its file once the blob is stored."""

    cloud: str
    resource_type: str
    type: str
    public_id: str
    storage_key: str
    format: str
    bytes: int
    etag: str
    mime_type: str
    width: int | None = None
    height: int | None = None
    pages: int | None = None
    duration: float | None = None
    video_metadata: dict[str, Any] = field(default_factory=dict)
    asset_folder: str = ""
    display_name: str = ""
    original_filename: str = ""
    tags: tuple[str, ...] = ()
    context: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    backup: bool = False  # back up every version of this asset (`backup=true`), whatever the cloud's setting
    annotations: dict[str, Any] = field(default_factory=dict)  # faces/custom coordinates, add-on findings
    moderation_status: str | None = None  # the moderation's overall status, None when none was asked
    moderation_kinds: str | None = None  # "|aws_rek:approved|manual:pending|" (catalog/moderation.py)
    access_mode: str | None = None  # public or authenticated; None: public when new, unchanged when replacing


@dataclass(frozen=True)
class SaveResult:
    asset: Asset
    existing: bool  # an asset was already there and was kept (overwrite off)
    overwritten: bool  # an asset was already there and was replaced
    replaced_storage_keys: tuple[str, ...]  # blobs of the replaced version, now unreferenced


def validate_public_id(public_id: str) -> str:
    """Refuse IDs that could address outside their cloud or confuse a URL."""
    return validate_path(public_id, "public_id", InvalidPublicId)


def validate_path(value: str, name: str, error: type[Invalid] = Invalid) -> str:
    """A public ID or a folder of one: bounded, no control characters or backslashes, and no
    empty, `.` or `..` segment. Errors name the parameter as `name`."""
    if not value:
        raise error(f"Missing required parameter - {name}")
    if len(value) > MAX_PUBLIC_ID_LENGTH:
        raise error(f"{name} is too long (maximum is {MAX_PUBLIC_ID_LENGTH} characters)")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value) or "\\" in value:
        raise error(f"Invalid {name} {value!r}: control characters and backslashes are not allowed")
    if any(segment in ("", ".", "..") for segment in value.split("/")):
        raise error(f"Invalid {name} {value!r}: empty, '.' and '..' path segments are not allowed")
    return value


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _random_hex() -> str:
    return secrets.token_hex(16)


def _identity(cloud: str, resource_type: str, type_: str, public_id: str) -> sa.ColumnElement[bool]:
    return sa.and_(
        assets.c.cloud == cloud,
        assets.c.resource_type == resource_type,
        assets.c.type == type_,
        assets.c.public_id == public_id,
    )


def get_asset(engine: Engine | Connection, cloud: str, resource_type: str, type_: str, public_id: str) -> Asset | None:
    if isinstance(engine, Connection):
        return _get(engine, _identity(cloud, resource_type, type_, public_id))
    with engine.connect() as conn:
        return _get(conn, _identity(cloud, resource_type, type_, public_id))


def _get(conn: Connection, where: sa.ColumnElement[bool], *, lock: bool = False) -> Asset | None:
    """The asset matching `where`; `lock` holds its row until the transaction ends (PostgreSQL;
    SQLite has one writer at a time anyway), so a derivative being recorded for this version
    waits and then sees the change (`catalog/derived.py`, `_record_statement`)."""
    query = sa.select(assets).where(where)
    row = conn.execute(query.with_for_update() if lock else query).mappings().first()
    if row is None:
        return None
    tags = conn.execute(sa.select(asset_tags.c.tag).where(asset_tags.c.asset_pk == row["id"]).order_by(asset_tags.c.tag))
    return _asset_from_row(row, tuple(t for (t,) in tags))


def _asset_from_row(row: Any, tags: tuple[str, ...]) -> Asset:
    return Asset(
        pk=row["id"],
        cloud=row["cloud"],
        asset_id=row["asset_id"],
        resource_type=row["resource_type"],
        type=row["type"],
        public_id=row["public_id"],
        folder=row["folder"],
        asset_folder=row["asset_folder"],
        display_name=row["display_name"],
        original_filename=row["original_filename"],
        version=row["version"],
        version_id=row["version_id"],
        format=row["format"],
        bytes=row["bytes"],
        width=row["width"],
        height=row["height"],
        pages=row["pages"],
        duration=row["duration"],
        video_metadata=dict(row["video_metadata"] or {}),
        etag=row["etag"],
        storage_key=row["storage_key"],
        mime_type=row["mime_type"],
        placeholder=bool(row["placeholder"]),
        access_mode=row["access_mode"],
        context=dict(row["context"] or {}),
        metadata=dict(row["metadata"] or {}),
        tags=tags,
        created_at=_aware(row["created_at"]),
        uploaded_at=_aware(row["uploaded_at"]),
        annotations=dict(row["annotations"] or {}),
    )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _split_public_id(public_id: str) -> tuple[str, str]:
    folder, _, filename = public_id.rpartition("/")
    return folder, filename


def save_asset(engine: Engine, new: NewAsset, *, overwrite: bool) -> SaveResult:
    """Insert the asset, or replace it (a new version) when `overwrite` is on.

    With overwrite off and the ID taken, the existing asset is returned untouched, as
    Cloudinary does (`existing: true`).
    """
    validate_public_id(new.public_id)
    try:
        return _save_once(engine, new, overwrite=overwrite)
    except sa.exc.IntegrityError:
        # A concurrent upload inserted the same public_id between our look-up and our insert.
        # Its row is committed now, so a second try returns it (overwrite off) or replaces it.
        with duplicate_is_conflict():
            return _save_once(engine, new, overwrite=overwrite)


def _save_once(engine: Engine, new: NewAsset, *, overwrite: bool) -> SaveResult:
    with engine.begin() as conn:
        current = _get(conn, _identity(new.cloud, new.resource_type, new.type, new.public_id), lock=overwrite)
        if current is not None and not overwrite:
            return SaveResult(current, existing=True, overwritten=False, replaced_storage_keys=())
        version = int(time.time())
        if current is not None:
            version = max(version, current.version + 1)  # a new version, even within the same second
        values = _row_values(new, version)
        if current is None:
            values["asset_id"] = _random_hex()
            values["created_at"] = values["uploaded_at"]
            inserted = conn.execute(sa.insert(assets).values(**values)).inserted_primary_key
            assert inserted is not None  # a single-row insert always reports its key
            pk = inserted[0]
            replaced: tuple[str, ...] = ()
        else:
            pk = current.pk
            values["backup"] = new.backup or _backed_up(conn, current)
            values["access_mode"] = new.access_mode or current.access_mode  # a new version keeps who may see it, unless the upload says
            if "access_control" not in new.annotations and current.annotations.get("access_control"):
                values["annotations"] = {**(values["annotations"] or {}), "access_control": current.annotations["access_control"]}
            original: tuple[str, ...] = () if kept_by_snapshots(conn, [current.storage_key]) else (current.storage_key,)
            if values["backup"] or backed_up_pks(conn, new.cloud, [pk]):
                keep_snapshots(conn, [pk], datetime.now(UTC), kind="version")  # the replaced version stays restorable
                original = ()
            replaced = (*original, *_derived_keys(conn, pk))
            conn.execute(sa.delete(derived).where(derived.c.asset_pk == pk))
            # Tags first: the update's trigger would otherwise rewrite copies about to be deleted.
            conn.execute(sa.delete(asset_tags).where(asset_tags.c.asset_pk == pk))
            conn.execute(sa.update(assets).where(assets.c.id == pk).values(**values))
        insert_tags(conn, pk, new.tags)
        saved = _get(conn, assets.c.id == pk)
    assert saved is not None
    return SaveResult(saved, existing=False, overwritten=current is not None, replaced_storage_keys=replaced)


def _row_values(new: NewAsset, version: int) -> dict[str, Any]:
    folder, filename = _split_public_id(new.public_id)
    pixels = new.width * new.height if new.width and new.height else None
    return {
        "cloud": new.cloud,
        "resource_type": new.resource_type,
        "type": new.type,
        "public_id": new.public_id,
        "folder": folder,
        "filename": filename,
        "asset_folder": new.asset_folder,
        "display_name": new.display_name or filename,
        "original_filename": new.original_filename,
        "version": version,
        "version_id": _random_hex(),
        "format": new.format,
        "bytes": new.bytes,
        "width": new.width,
        "height": new.height,
        "pages": new.pages,
        "pixels": pixels,
        "aspect_ratio": round(new.width / new.height, 5) if new.width and new.height else None,
        "duration": new.duration,
        "video_metadata": dict(new.video_metadata) or None,
        "etag": new.etag,
        "storage_key": new.storage_key,
        "mime_type": new.mime_type,
        "placeholder": False,
        "access_mode": new.access_mode or "public",
        "status": "active",
        "context": dict(new.context),
        "metadata": dict(new.metadata),
        "backup": new.backup,
        "visual_features": sa.null(),  # a new version is indexed again only if its upload asks (media.uploads)
        "uploaded_at": _now(),
        "annotations": dict(new.annotations) or None,
        "moderation_status": new.moderation_status,
        "moderation_kinds": new.moderation_kinds,
    }


def _backed_up(conn: Connection, current: Asset) -> bool:
    return bool(conn.execute(sa.select(assets.c.backup).where(assets.c.id == current.pk)).scalar())


def insert_tags(
    conn: Connection, pk: int, tags: Iterable[str], copied: Mapping[str, Any] | sa.RowMapping | None = None
) -> None:
    """Tag asset `pk` (empty and repeated tags dropped), after its row is written.

    Each tag row carries copies of the asset's filter columns (schema.TAG_COPIED_COLUMNS), read
    here from the row itself so they cannot disagree (`copied`: the caller has just read them,
    in this transaction); triggers keep them in step afterwards.
    """
    unique = sorted({tag for tag in tags if tag})
    if not unique:
        return
    if copied is None:
        copied = conn.execute(sa.select(*(assets.c[name] for name in TAG_COPIED_COLUMNS)).where(assets.c.id == pk)).mappings().one()
    conn.execute(sa.insert(asset_tags), [{**copied, "asset_pk": pk, "tag": tag} for tag in unique])


def _derived_keys(conn: Connection, pk: int) -> list[str]:
    return [key for (key,) in conn.execute(sa.select(derived.c.storage_key).where(derived.c.asset_pk == pk))]


def derived_storage_keys(engine: Engine, asset_pk: int) -> list[str]:
    with engine.connect() as conn:
        return _derived_keys(conn, asset_pk)


def delete_asset(engine: Engine, cloud: str, resource_type: str, type_: str, public_id: str) -> tuple[Asset, list[str]] | None:
    """Remove the record; returns it with every blob key it owned (original and derived), or None.
    A backed-up asset leaves a tombstone and keeps its original's blob (`catalog.backups`)."""
    with engine.begin() as conn:
        current = _get(conn, _identity(cloud, resource_type, type_, public_id), lock=True)
        if current is None:
            return None
        keys = [current.storage_key, *_derived_keys(conn, current.pk)]
        if backed_up_pks(conn, cloud, [current.pk]):
            keep_snapshots(conn, [current.pk], datetime.now(UTC))
        if kept_by_snapshots(conn, [current.storage_key]):
            keys = keys[1:]
        conn.execute(sa.delete(derived).where(derived.c.asset_pk == current.pk))
        conn.execute(sa.delete(asset_tags).where(asset_tags.c.asset_pk == current.pk))
        conn.execute(sa.delete(assets).where(assets.c.id == current.pk))
    return current, keys


def rename_asset(
    engine: Engine,
    cloud: str,
    resource_type: str,
    from_type: str,
    from_public_id: str,
    to_type: str,
    to_public_id: str,
    *,
    overwrite: bool,
    asset_folder: str | None = None,
) -> tuple[Asset, list[str]]:
    """Move an asset to a new public ID (and type); returns it and the blob keys freed by an overwrite.

    `asset_folder`, when given, moves the asset's folder in the same transaction (the console's "move").
    """
    validate_public_id(to_public_id)
    if asset_folder:
        validate_path(asset_folder, "asset_folder")
    freed: list[str] = []
    with duplicate_is_conflict(f"Resource already exists - {to_public_id}"), engine.begin() as conn:
        current = _get(conn, _identity(cloud, resource_type, from_type, from_public_id))
        if current is None:
            raise AssetNotFound(f"Resource not found - {from_public_id}")
        if fixed_folders(conn, cloud):  # the folder is the public ID's path, and moves with it
            asset_folder = _split_public_id(to_public_id)[0]
        if (to_type, to_public_id) == (from_type, from_public_id):
            if asset_folder is not None and asset_folder != current.asset_folder:
                conn.execute(sa.update(assets).where(assets.c.id == current.pk).values(asset_folder=asset_folder))
                current = _get(conn, assets.c.id == current.pk)
                assert current is not None
            return current, freed
        target = _get(conn, _identity(cloud, resource_type, to_type, to_public_id))
        if target is not None:
            if not overwrite:
                raise AssetExists(f"Resource already exists - {to_public_id}")
            freed = [target.storage_key, *_derived_keys(conn, target.pk)]
            conn.execute(sa.delete(assets).where(assets.c.id == target.pk))
        folder, filename = _split_public_id(to_public_id)
        # Derivatives were addressed by the old ID; drop their records so none is served stale.
        freed += _derived_keys(conn, current.pk)
        conn.execute(sa.delete(derived).where(derived.c.asset_pk == current.pk))
        conn.execute(
            sa.update(assets)
            .where(assets.c.id == current.pk)
            .values(
                public_id=to_public_id,
                type=to_type,
                folder=folder,
                filename=filename,
                **({} if asset_folder is None else {"asset_folder": asset_folder}),
            )
        )
        renamed = _get(conn, assets.c.id == current.pk)
    assert renamed is not None
    return renamed, freed


def _targets(conn: Connection, cloud: str, resource_type: str, type_: str, public_ids: Sequence[str]) -> list[sa.Row[Any]]:
    """(id, public_id, context, the columns tags copy) of the named assets that exist, in the
    order asked, in one query."""
    rows = conn.execute(
        sa.select(assets.c.id, assets.c.public_id, assets.c.context, *(assets.c[name] for name in TAG_COPIED_COLUMNS)).where(
            assets.c.cloud == cloud,
            assets.c.resource_type == resource_type,
            assets.c.type == type_,
            assets.c.public_id.in_(set(public_ids)),
        )
    ).all()
    by_id = {row.public_id: row for row in rows}
    return [by_id[public_id] for public_id in dict.fromkeys(public_ids) if public_id in by_id]


def update_tags(
    engine: Engine, cloud: str, resource_type: str, type_: str, public_ids: Sequence[str], command: str, tags: Sequence[str]
) -> list[str]:
    """Apply a `tags` action command; returns the public IDs that exist and were updated."""
    with duplicate_is_conflict(), engine.begin() as conn:
        targets = _targets(conn, cloud, resource_type, type_, public_ids)
        if command == "set_exclusive":
            # The tag moves to these assets only, across the whole cloud.
            conn.execute(sa.delete(asset_tags).where(asset_tags.c.tag.in_(tags), asset_tags.c.cloud == cloud))
        for target in targets:
            pk = target.id
            if command in ("replace", "remove_all"):
                conn.execute(sa.delete(asset_tags).where(asset_tags.c.asset_pk == pk))
            if command == "remove":
                conn.execute(sa.delete(asset_tags).where(asset_tags.c.asset_pk == pk, asset_tags.c.tag.in_(tags)))
            if command in ("add", "replace", "set_exclusive"):
                existing = {t for (t,) in conn.execute(sa.select(asset_tags.c.tag).where(asset_tags.c.asset_pk == pk))}
                copied = {name: target._mapping[name] for name in TAG_COPIED_COLUMNS}
                insert_tags(conn, pk, [t for t in tags if t not in existing], copied)
    return [target.public_id for target in targets]


def update_context(
    engine: Engine,
    cloud: str,
    resource_type: str,
    type_: str,
    public_ids: Sequence[str],
    command: str,
    context: dict[str, str],
) -> list[str]:
    """Apply a `context` action command (add merges, remove_all clears)."""
    with engine.begin() as conn:
        targets = _targets(conn, cloud, resource_type, type_, public_ids)
        for target in targets:
            merged = {} if command == "remove_all" else {**(target.context or {}), **context}
            conn.execute(sa.update(assets).where(assets.c.id == target.id).values(context=merged))
    return [target.public_id for target in targets]
