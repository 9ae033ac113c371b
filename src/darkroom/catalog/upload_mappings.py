"""Upload mappings: a folder of the cloud mapped to a remote URL prefix (Cloudinary's auto-upload).

A delivery URL under a mapped folder whose asset does not exist yet is fetched from the
template plus the rest of the public ID (`media.auto_upload`); `mapping_for` finds the
mapping of a public ID, the rest is the Admin API's `/upload_mappings`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from darkroom.catalog.assets import MAX_PUBLIC_ID_LENGTH, validate_path
from darkroom.catalog.errors import duplicate_is_conflict
from darkroom.catalog.rows import name_cursor, name_from_cursor
from darkroom.catalog.schema import upload_mappings
from darkroom.errors import Conflict, Invalid, NotFound

__all__ = [
    "MAX_FOLDER_LENGTH", "Mapping", "MappingNotFound", "create_mapping", "delete_mapping", "get_mapping",
    "list_mappings", "mapping_for", "update_mapping",
]

MAX_FOLDER_LENGTH = MAX_PUBLIC_ID_LENGTH  # a mapped folder is the first part of a public ID
MAX_TEMPLATE_LENGTH = 2048


class MappingNotFound(NotFound):
    pass


@dataclass(frozen=True)
class Mapping:
    folder: str
    template: str

    def source_url(self, rest: str) -> str:
        """Where the asset `{folder}/{rest}` is fetched from: the template, one "/", the rest."""
        return f"{self.template.rstrip('/')}/{rest}"


def checked_folder(folder: str) -> str:
    """A folder as stored: no leading or trailing "/", and checked as a public ID's path is."""
    return validate_path(folder.strip().strip("/"), "folder")


def checked_template(template: str) -> str:
    """An http(s) URL prefix; bucket templates (s3://, gs://) need credentials darkroom does not hold."""
    template = template.strip()
    if not template:
        raise Invalid("Missing required parameter - template")
    scheme = template.split(":", 1)[0].lower() if ":" in template else ""
    if scheme in ("s3", "gs"):
        raise Invalid(f"Invalid template - {scheme}:// upload mappings are not supported here; use an http(s) URL")
    if len(template) > MAX_TEMPLATE_LENGTH or any(ord(ch) <= 32 or ord(ch) == 127 for ch in template):
        raise Invalid("Invalid template - expected an http(s) URL")
    try:
        parts = urlsplit(template)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise Invalid("Invalid template - expected an http(s) URL") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise Invalid("Invalid template - expected an http(s) URL without a query or fragment")
    return template


def _where(cloud: str, folder: str) -> sa.ColumnElement[bool]:
    return sa.and_(upload_mappings.c.cloud == cloud, upload_mappings.c.folder == folder)


def list_mappings(engine: Engine, cloud: str, max_results: int, next_cursor: str | None) -> tuple[list[Mapping], str | None]:
    """A page in folder order; the cursor is the last folder shown, hex-encoded."""
    statement = sa.select(upload_mappings.c.folder, upload_mappings.c.template).where(upload_mappings.c.cloud == cloud)
    if next_cursor:
        statement = statement.where(upload_mappings.c.folder > name_from_cursor(next_cursor))
    with engine.connect() as conn:
        rows = conn.execute(statement.order_by(upload_mappings.c.folder).limit(max_results + 1)).all()
    page = [Mapping(folder, template) for folder, template in rows[:max_results]]
    return page, (name_cursor(page[-1].folder) if len(rows) > max_results else None)


def get_mapping(engine: Engine, cloud: str, folder: str) -> Mapping:
    folder = checked_folder(folder)
    with engine.connect() as conn:
        row = conn.execute(sa.select(upload_mappings.c.template).where(_where(cloud, folder))).first()
    if row is None:
        raise MappingNotFound(f"Mapping for folder {folder} not found")
    return Mapping(folder, row.template)


def create_mapping(engine: Engine, cloud: str, folder: str, template: str) -> Mapping:
    mapping = Mapping(checked_folder(folder), checked_template(template))
    duplicate = f"Mapping for folder {mapping.folder} already exists"
    with duplicate_is_conflict(duplicate), engine.begin() as conn:
        if conn.execute(sa.select(upload_mappings.c.folder).where(_where(cloud, mapping.folder))).first():
            raise Conflict(duplicate)
        conn.execute(sa.insert(upload_mappings).values(
            cloud=cloud, folder=mapping.folder, template=mapping.template, created_at=datetime.now(UTC)))
    return mapping


def update_mapping(engine: Engine, cloud: str, folder: str, template: str) -> Mapping:
    mapping = Mapping(checked_folder(folder), checked_template(template))
    with engine.begin() as conn:
        if conn.execute(sa.update(upload_mappings).where(_where(cloud, mapping.folder)).values(template=mapping.template)).rowcount == 0:
            raise MappingNotFound(f"Mapping for folder {mapping.folder} not found")
    return mapping


def delete_mapping(engine: Engine, cloud: str, folder: str) -> None:
    folder = checked_folder(folder)
    with engine.begin() as conn:
        if conn.execute(sa.delete(upload_mappings).where(_where(cloud, folder))).rowcount == 0:
            raise MappingNotFound(f"Mapping for folder {folder} not found")


def mapping_for(engine: Engine, cloud: str, public_id: str) -> tuple[Mapping, str] | None:
    """The mapping whose folder holds `public_id` (the deepest, if several do) and the rest of
    the ID after that folder; None when no mapped folder holds it. One indexed query."""
    segments = public_id.split("/")
    prefixes = ["/".join(segments[:n]) for n in range(1, len(segments))]
    prefixes = [p for p in prefixes if len(p) <= MAX_FOLDER_LENGTH]
    if not prefixes:
        return None
    statement = sa.select(upload_mappings.c.folder, upload_mappings.c.template).where(
        upload_mappings.c.cloud == cloud, upload_mappings.c.folder.in_(prefixes))
    with engine.connect() as conn:
        rows = conn.execute(statement).all()
    if not rows:
        return None
    folder, template = max(rows, key=lambda row: len(row.folder))
    return Mapping(folder, template), public_id[len(folder) + 1:]
