"""Upload presets as the Admin API manages them; the Upload API reads them through `get_preset` too (`clouds.find_upload_preset`).

`settings` holds upload parameters exactly as an upload would send them (strings such as
`"1"`, `"a,b"`, `"k=v|k2=v2"`), so applying a preset is merging two parameter dicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from darkroom.catalog.errors import PresetNotFound, duplicate_is_conflict
from darkroom.catalog.rows import name_cursor, name_from_cursor
from darkroom.catalog.schema import upload_presets

__all__ = ["Preset", "list_presets", "get_preset", "create_preset", "update_preset", "delete_preset", "FLAGS"]

# Top-level switches with columns of their own; everything else is an upload parameter.
FLAGS = ("unsigned", "disallow_public_id", "live")
# Sent by the SDK along with the settings but meaningless in a stored preset.
_IGNORED = frozenset({"name", "timestamp", "api_key", "signature", "cloud_name", "resource_type", "upload_preset", *FLAGS})

Preset = dict[str, Any]


def _flag(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true")


def _json(row: sa.RowMapping) -> Preset:
    return {"name": row["name"], "unsigned": bool(row["unsigned"]), "settings": dict(row["settings"] or {}),
            "disallow_public_id": bool(row["disallow_public_id"]), "live": bool(row["live"])}


def _settings(body: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in _IGNORED and v is not None and v != ""}


def _where(cloud: str, name: str) -> sa.ColumnElement[bool]:
    return sa.and_(upload_presets.c.cloud == cloud, upload_presets.c.name == name)


def list_presets(engine: Engine, cloud: str, max_results: int, next_cursor: str | None) -> tuple[list[Preset], str | None]:
    statement = sa.select(upload_presets).where(upload_presets.c.cloud == cloud)
    if next_cursor:
        statement = statement.where(upload_presets.c.name > name_from_cursor(next_cursor))
    with engine.connect() as conn:
        rows = conn.execute(statement.order_by(upload_presets.c.name).limit(max_results + 1)).mappings().all()
    more = len(rows) > max_results
    page = [_json(r) for r in rows[:max_results]]
    return page, (name_cursor(page[-1]["name"]) if more else None)


def get_preset(engine: Engine, cloud: str, name: str) -> Preset:
    with engine.connect() as conn:
        row = conn.execute(sa.select(upload_presets).where(_where(cloud, name))).mappings().first()
    if row is None:
        raise PresetNotFound(f"Can't find upload preset named {name}")
    return _json(row)


def create_preset(engine: Engine, cloud: str, body: Mapping[str, Any]) -> str:
    """Store a preset; a missing name gets a random one, as Cloudinary does. Returns the name."""
    import secrets

    name = str(body.get("name") or secrets.token_hex(4))
    row = {
        "cloud": cloud,
        "name": name,
        "unsigned": _flag(body.get("unsigned")),
        "disallow_public_id": _flag(body.get("disallow_public_id")),
        "live": _flag(body.get("live")),
        "settings": _settings(body),
        "created_at": datetime.now(UTC),
    }
    # The primary key (cloud, name) refuses a duplicate, also one a concurrent request just made.
    with duplicate_is_conflict(f"Upload preset {name} already exists"), engine.begin() as conn:
        conn.execute(sa.insert(upload_presets).values(**row))
    return name


def update_preset(engine: Engine, cloud: str, name: str, body: Mapping[str, Any]) -> None:
    """Change the flags given and merge the settings given into the stored ones."""
    with engine.begin() as conn:
        row = conn.execute(sa.select(upload_presets).where(_where(cloud, name))).mappings().first()
        if row is None:
            raise PresetNotFound(f"Can't find upload preset named {name}")
        values: dict[str, Any] = {flag: _flag(body[flag]) for flag in FLAGS if body.get(flag) is not None}
        values["settings"] = {**(row["settings"] or {}), **_settings(body)}
        conn.execute(sa.update(upload_presets).where(_where(cloud, name)).values(**values))


def delete_preset(engine: Engine, cloud: str, name: str) -> None:
    with engine.begin() as conn:
        if conn.execute(sa.delete(upload_presets).where(_where(cloud, name))).rowcount == 0:
            raise PresetNotFound(f"Can't find upload preset named {name}")
