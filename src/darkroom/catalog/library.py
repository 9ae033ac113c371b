"""What the console's pages list: assets page by page, folders, presets for the upload panel,
an asset's derivatives; the default cloud it shows (also the CMS media store's).

Why here and not in the browser: the Search and Admin APIs authenticate with the API
secret, which must never reach a browser. The console's JSON endpoints run the same
operations server-side for a signed-in operator. Listing uses the Search API's own
expression language (`catalog.search`) so the search box means what the API means; when
that part is missing the box falls back to a plain public-ID filter.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from darkroom import catalog
from darkroom.catalog.rows import assets_from_rows
from darkroom.catalog.schema import assets, clouds, derived, upload_presets
from darkroom.errors import Invalid

__all__ = [
    "Page",
    "list_resources",
    "list_folders",
    "default_cloud",
    "presets_for_upload",
    "derived_versions",
    "encode_cursor",
    "decode_cursor",
]

SORTS = {"created_at", "public_id", "bytes", "uploaded_at", "filename", "format"}
MAX_PAGE = 100


@dataclass(frozen=True)
class Page:
    assets: list[catalog.Asset]
    next_cursor: str | None
    total_count: int


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        offset = json.loads(base64.urlsafe_b64decode(padded))["o"]
    except (ValueError, KeyError, TypeError):
        raise Invalid("Invalid next_cursor") from None
    if not isinstance(offset, int) or offset < 0:
        raise Invalid("Invalid next_cursor")
    return offset


def default_cloud(engine: Engine, configured: str | None) -> str | None:
    """The cloud the console shows: CLOUDINARY_URL's, else the oldest one in the database."""
    if configured:
        return configured
    with engine.connect() as conn:
        row = conn.execute(sa.select(clouds.c.name).order_by(clouds.c.created_at, clouds.c.name)).first()
    return str(row.name) if row else None


def _search_clause(expression: str, dialect: str, now: datetime) -> sa.ColumnElement[bool]:
    """The WHERE clause for a search-box expression, in the Search API's language."""
    try:
        from darkroom.catalog.search import SearchError, compile_where, parse
    except ImportError:  # the search part is not installed: match on public ID only
        pattern = "%" + expression.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        return assets.c.public_id.like(pattern, escape="\\")
    try:
        return compile_where(parse(expression), now=now, dialect=dialect)
    except SearchError as exc:
        raise Invalid(getattr(exc, "message", str(exc))) from None


def list_resources(
    engine: Engine,
    cloud: str,
    *,
    folder: str = "",
    expression: str = "",
    sort: str = "created_at:desc",
    cursor: str | None = None,
    limit: int = 30,
    exact_folder: bool = False,
    now: datetime | None = None,
) -> Page:
    """One page of a cloud's assets, filtered by folder (and below, unless exact) and expression."""
    where: list[sa.ColumnElement[bool]] = [assets.c.cloud == cloud]
    if folder or exact_folder:
        where.append(_folder_clause(folder, exact_folder))
    if expression.strip():
        where.append(_search_clause(expression.strip(), engine.dialect.name, now or datetime.now(UTC)))
    offset = decode_cursor(cursor)
    limit = max(1, min(limit, MAX_PAGE))
    with engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(assets).where(*where)).scalar_one()
        rows = conn.execute(
            sa.select(assets).where(*where).order_by(*_order(sort)).offset(offset).limit(limit)
        ).mappings().all()
        page: list[catalog.Asset] = list(assets_from_rows(conn, rows))
    more = offset + len(rows) < total
    return Page(page, encode_cursor(offset + len(rows)) if more else None, total)


def _folder_clause(folder: str, exact: bool) -> sa.ColumnElement[bool]:
    folder = folder.strip("/")
    if exact or not folder:
        return assets.c.folder == folder
    escaped = folder.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return sa.or_(assets.c.folder == folder, assets.c.folder.like(escaped + "/%", escape="\\"))


def _order(sort: str) -> list[Any]:
    field, _, direction = (sort or "created_at:desc").partition(":")
    if field not in SORTS:
        raise Invalid(f"Cannot sort by {field}")
    column = assets.c[field]
    primary = column.asc() if direction == "asc" else column.desc()
    return [primary, assets.c.id.asc() if direction == "asc" else assets.c.id.desc()]


def list_folders(engine: Engine, cloud: str, path: str = "") -> list[dict[str, str]]:
    """The folders directly under `path` ("" = the root), as the Admin API lists them.

    That is folders assets live in and empty ones made with `create_folder`; an unknown
    folder simply has no sub-folders.
    """
    from darkroom.catalog import folders

    try:
        children, _total, _cursor = folders.list_folders(engine, cloud, path.strip("/"), 10_000, None)
    except folders.FolderNotFound:
        return []
    return [{"name": folder.name, "path": folder.path} for folder in children]


def presets_for_upload(engine: Engine, cloud: str) -> list[dict[str, Any]]:
    """Presets with the client-side checks they imply (formats, size) for the upload panel."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(upload_presets).where(upload_presets.c.cloud == cloud).order_by(upload_presets.c.name)
        ).mappings()
        return [_preset_view(row) for row in rows]


def _preset_view(row: Any) -> dict[str, Any]:
    settings = dict(row["settings"] or {})
    formats = settings.get("allowed_formats") or []
    if isinstance(formats, str):
        formats = [item.strip() for item in formats.split(",") if item.strip()]
    max_bytes = settings.get("max_file_size") or settings.get("max_bytes")
    return {
        "name": row["name"],
        "unsigned": bool(row["unsigned"]),
        "settings": settings,
        "formats": list(formats),
        "max_bytes": int(str(max_bytes)) if str(max_bytes or "").isdigit() else None,
        "created_at": row["created_at"],
    }


def derived_versions(engine: Engine, asset_pk: int) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(derived).where(derived.c.asset_pk == asset_pk).order_by(derived.c.created_at.desc())
        ).mappings()
        return [dict(row) for row in rows]
