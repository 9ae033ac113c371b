"""Folders: an asset's `asset_folder`, plus empty ones made on purpose.

In dynamic folder mode an asset's folder is its own; in fixed mode ingest and rename keep it
equal to the public ID's path, so the same queries serve both modes.

A folder exists if an asset lives in it (or below it) or if `create_folder` made it. Listing
is by name; renaming moves every asset below the folder; deleting refuses a folder that still
holds assets.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from darkroom.catalog.cloud_settings import fixed_folders
from darkroom.catalog.errors import duplicate_is_conflict
from darkroom.catalog.rows import name_cursor, name_from_cursor
from darkroom.catalog.schema import assets, folders
from darkroom.catalog.search.compiler import starts_with
from darkroom.errors import Conflict, Invalid, NotFound

__all__ = ["Folder", "FolderNotFound", "list_folders", "create_folder", "rename_folder", "delete_folder", "all_folders", "clean_path"]


class FolderNotFound(NotFound):
    pass


@dataclass(frozen=True)
class Folder:
    name: str
    path: str
    external_id: str
    created_at: datetime | None = None


def clean_path(path: str) -> str:
    cleaned = "/".join(part for part in path.strip().split("/") if part)
    if any(part in (".", "..") for part in cleaned.split("/")):
        raise Invalid(f"Invalid folder path - {path}")
    return cleaned


def _external_id(cloud: str, path: str) -> str:
    """Folders derived from assets have no row; their id is a stable hash of the path."""
    return hashlib.md5(f"{cloud}/{path}".encode()).hexdigest()


def _known(conn: Connection, cloud: str, under: str) -> dict[str, Folder]:
    """Every folder path at or below `under` ("" = everywhere), with ancestors filled in.

    A folder that exists only because assets live in it was created with its first asset:
    its created_at is the earliest of the assets at or below it.
    """
    explicit_rows = sa.select(folders.c.path, folders.c.external_id, folders.c.created_at).where(folders.c.cloud == cloud)
    used = (sa.select(assets.c.asset_folder, sa.func.min(assets.c.created_at))
            .where(assets.c.cloud == cloud, assets.c.asset_folder != "").group_by(assets.c.asset_folder))
    if under:
        explicit_rows = explicit_rows.where(sa.or_(folders.c.path == under, starts_with(folders.c.path, under + "/")))
        used = used.where(sa.or_(assets.c.asset_folder == under, starts_with(assets.c.asset_folder, under + "/")))
    found: dict[str, Folder] = {}
    for path, external_id, created_at in conn.execute(explicit_rows):
        found[path] = Folder(path.rsplit("/", 1)[-1], path, external_id, _utc(created_at))
    explicit = set(found)
    for path, first_asset in conn.execute(used):
        _add_with_ancestors(found, explicit, cloud, path, under, _utc(first_asset))
    return found


def _utc(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def _add_with_ancestors(found: dict[str, Folder], explicit: set[str], cloud: str, path: str, under: str,
                        first_asset: datetime | None) -> None:
    parts = path.split("/")
    for depth in range(1, len(parts) + 1):
        partial = "/".join(parts[:depth])
        if under and partial != under and not partial.startswith(under + "/"):
            continue
        known = found.get(partial)
        if known is None:
            found[partial] = Folder(parts[depth - 1], partial, _external_id(cloud, partial), first_asset)
        elif partial not in explicit and first_asset is not None and (known.created_at is None or first_asset < known.created_at):
            found[partial] = Folder(known.name, known.path, known.external_id, first_asset)


def all_folders(engine: Engine, cloud: str) -> list[Folder]:
    with engine.connect() as conn:
        return sorted(_known(conn, cloud, "").values(), key=lambda f: f.path)


def list_folders(engine: Engine, cloud: str, parent: str, max_results: int, next_cursor: str | None) -> tuple[list[Folder], int, str | None]:
    """Direct children of `parent` ("" = root) by name: (page, total_count, next_cursor)."""
    parent = clean_path(parent)
    with engine.connect() as conn:
        known = _known(conn, cloud, parent)
    if parent and parent not in known:
        raise FolderNotFound(f"Can't find folder with path {parent}")
    depth = parent.count("/") + 1 if parent else 0
    children = sorted((f for f in known.values() if f.path.count("/") == depth and f.path != parent), key=lambda f: f.name)
    start = _cursor_position(children, next_cursor)
    page = children[start : start + max_results]
    more = start + max_results < len(children)
    return page, len(children), (name_cursor(page[-1].name) if more and page else None)


def _cursor_position(children: list[Folder], cursor: str | None) -> int:
    if not cursor:
        return 0
    last = name_from_cursor(cursor)
    return next((i for i, f in enumerate(children) if f.name > last), len(children))


def create_folder(engine: Engine, cloud: str, path: str) -> Folder:
    """Make the folder and any missing ancestors; Conflict if it already exists."""
    path = clean_path(path)
    if not path:
        raise Invalid("Missing required parameter - folder")
    duplicate = f"Folder already exists - {path}"
    with duplicate_is_conflict(duplicate), engine.begin() as conn:
        known = _known(conn, cloud, path.split("/")[0])
        if path in known:
            raise Conflict(duplicate)
        now = datetime.now(UTC)
        parts = path.split("/")
        for depth in range(1, len(parts) + 1):
            partial = "/".join(parts[:depth])
            exists = conn.execute(sa.select(folders.c.path).where(folders.c.cloud == cloud, folders.c.path == partial)).first()
            if not exists:
                conn.execute(sa.insert(folders).values(cloud=cloud, path=partial, external_id=_external_id(cloud, partial), created_at=now))
    return Folder(parts[-1], path, _external_id(cloud, path), now)


def rename_folder(engine: Engine, cloud: str, source: str, target: str) -> tuple[Folder, Folder]:
    """Move a folder (its assets and sub-folders) to a new path."""
    source, target = clean_path(source), clean_path(target)
    if not target:
        raise Invalid("Missing required parameter - to_folder")
    with duplicate_is_conflict(f"Folder already exists - {target}"), engine.begin() as conn:
        if fixed_folders(conn, cloud):  # it would change every public ID, so URLs, below it
            raise Invalid("Renaming folders is supported in dynamic folder mode only")
        if source not in _known(conn, cloud, source):
            raise FolderNotFound(f"Can't find folder with path {source}")
        if target in _known(conn, cloud, target):
            raise Conflict(f"Folder already exists - {target}")
        _move(conn, cloud, source, target)
    return Folder(source.rsplit("/", 1)[-1], source, _external_id(cloud, source)), Folder(
        target.rsplit("/", 1)[-1], target, _external_id(cloud, target)
    )


def _move(conn: Connection, cloud: str, source: str, target: str) -> None:
    below = starts_with(assets.c.asset_folder, source + "/")
    conn.execute(sa.update(assets).where(assets.c.cloud == cloud, assets.c.asset_folder == source).values(asset_folder=target))
    conn.execute(
        sa.update(assets)
        .where(assets.c.cloud == cloud, below)
        .values(asset_folder=sa.literal(target).concat(sa.func.substr(assets.c.asset_folder, len(source) + 1)))
    )
    rows = conn.execute(
        sa.select(folders.c.path).where(folders.c.cloud == cloud, sa.or_(folders.c.path == source, starts_with(folders.c.path, source + "/")))
    ).all()
    for (path,) in rows:
        moved = target + path[len(source):]
        conn.execute(sa.delete(folders).where(folders.c.cloud == cloud, folders.c.path == path))
        if not conn.execute(sa.select(folders.c.path).where(folders.c.cloud == cloud, folders.c.path == moved)).first():
            conn.execute(sa.insert(folders).values(cloud=cloud, path=moved, external_id=_external_id(cloud, moved), created_at=datetime.now(UTC)))


def delete_folder(engine: Engine, cloud: str, path: str) -> list[str]:
    """Remove an empty folder and its empty sub-folders; returns the deleted paths."""
    path = clean_path(path)
    with engine.begin() as conn:
        known = _known(conn, cloud, path)
        if path not in known:
            raise FolderNotFound(f"Can't find folder with path {path}")
        inside = sa.or_(assets.c.asset_folder == path, starts_with(assets.c.asset_folder, path + "/"))
        if conn.execute(sa.select(assets.c.id).where(assets.c.cloud == cloud, inside).limit(1)).first():
            raise Invalid("Folder is not empty")
        conn.execute(sa.delete(folders).where(folders.c.cloud == cloud, sa.or_(folders.c.path == path, starts_with(folders.c.path, path + "/"))))
    return sorted(known)
