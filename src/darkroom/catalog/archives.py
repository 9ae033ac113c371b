"""Choosing the assets of an archive (`generate_archive`): by public IDs, prefixes, tags or fully qualified IDs.

The archive itself is built by the API layer from the blobs; this module only answers
"which originals, under which names".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from darkroom.catalog.schema import asset_tags, assets
from darkroom.catalog.search.compiler import starts_with
from darkroom.errors import Invalid

__all__ = ["ArchiveMember", "archive_members", "MAX_MEMBERS"]

MAX_MEMBERS = 1000  # Cloudinary's limit on assets per archive


@dataclass(frozen=True)
class ArchiveMember:
    cloud: str
    public_id: str
    resource_type: str
    type: str
    format: str
    storage_key: str
    original_filename: str
    bytes: int


def archive_members(
    engine: Engine,
    cloud: str,
    resource_type: str,
    type_: str,
    *,
    public_ids: Sequence[str] = (),
    prefixes: Sequence[str] = (),
    tags: Sequence[str] = (),
    fully_qualified: Sequence[str] = (),
) -> list[ArchiveMember]:
    """The selected assets, each once, ordered by public_id; Invalid if nothing is selected at all."""
    if not (public_ids or prefixes or tags or fully_qualified):
        raise Invalid("Missing required parameter - public_ids, prefixes, tags or fully_qualified_public_ids")
    scope = [assets.c.cloud == cloud]
    if resource_type not in ("all", "auto"):
        scope += [assets.c.resource_type == resource_type, assets.c.type == type_]
    chosen: list[sa.ColumnElement[bool]] = []
    if public_ids:
        chosen.append(assets.c.public_id.in_(list(public_ids)))
    chosen += [starts_with(assets.c.public_id, p) for p in prefixes if p]
    if any(p == "" for p in prefixes):
        chosen.append(sa.true())
    if tags:
        chosen.append(assets.c.id.in_(sa.select(asset_tags.c.asset_pk).where(asset_tags.c.tag.in_(list(tags)))))
    for qualified in fully_qualified:
        kind, _, rest = qualified.partition("/")
        delivery, _, public_id = rest.partition("/")
        chosen.append(sa.and_(assets.c.resource_type == kind, assets.c.type == delivery, assets.c.public_id == public_id))
    statement = (
        sa.select(assets.c.cloud, assets.c.public_id, assets.c.resource_type, assets.c.type, assets.c.format, assets.c.storage_key,
                  assets.c.original_filename, assets.c.bytes)
        .where(*scope, sa.or_(*chosen))
        .order_by(assets.c.public_id, assets.c.id)
        .limit(MAX_MEMBERS + 1)
    )
    with engine.connect() as conn:
        rows = conn.execute(statement).all()
    if len(rows) > MAX_MEMBERS:
        raise Invalid(f"Too many resources for one archive (maximum is {MAX_MEMBERS})")
    return [ArchiveMember(*row) for row in rows]
