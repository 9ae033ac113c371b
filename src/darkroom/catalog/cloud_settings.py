"""A cloud's settings that have no column of their own (clouds.settings, a JSON object).

Read by the Admin API per call (cached briefly there) — `backups`, `rate_limit` — and written by
operators' tools and tests. Unknown keys are kept as they are.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from darkroom.catalog.schema import clouds
from darkroom.errors import Invalid, NotFound

__all__ = ["FOLDER_MODES", "cloud_settings", "fixed_folders", "folder_mode", "folder_mode_of", "set_cloud_setting", "set_folder_mode"]

# Cloudinary's folder modes: `dynamic` (accounts since 2024: the asset folder is separate from
# the public ID) and `fixed` (older accounts: the public ID's path is the folder).
FOLDER_MODES = ("dynamic", "fixed")


def cloud_settings(engine: Engine, cloud: str) -> dict[str, Any]:
    """The settings object, {} for a cloud without any (or an unknown cloud)."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(clouds.c.settings).where(clouds.c.name == cloud)).first()
    return dict(row[0] or {}) if row else {}


def set_cloud_setting(engine: Engine, cloud: str, name: str, value: Any) -> None:
    """Set one key (None removes it), keeping the others."""
    with engine.begin() as conn:
        row = conn.execute(sa.select(clouds.c.settings).where(clouds.c.name == cloud)).first()
        if row is None:
            raise NotFound(f"Unknown cloud name - {cloud}")
        settings = {k: v for k, v in dict(row[0] or {}).items() if k != name}
        if value is not None:
            settings[name] = value
        conn.execute(sa.update(clouds).where(clouds.c.name == cloud).values(settings=settings))


def folder_mode_of(settings: dict[str, Any]) -> str:
    """The folder mode a settings object names; `dynamic` when it names none."""
    mode = settings.get("folder_mode")
    return mode if mode in FOLDER_MODES else "dynamic"


def folder_mode(engine: Engine, cloud: str) -> str:
    return folder_mode_of(cloud_settings(engine, cloud))


def set_folder_mode(engine: Engine, cloud: str, mode: str) -> None:
    """Choose a cloud's folder mode (`fixed` or `dynamic`)."""
    if mode not in FOLDER_MODES:
        raise Invalid(f"Invalid folder_mode - {mode}; use fixed or dynamic")
    set_cloud_setting(engine, cloud, "folder_mode", mode)


def fixed_folders(conn: Connection, cloud: str) -> bool:
    """Whether the cloud is in fixed folder mode (inside a transaction that needs to know)."""
    row = conn.execute(sa.select(clouds.c.settings).where(clouds.c.name == cloud)).first()
    return folder_mode_of(dict(row[0] or {}) if row else {}) == "fixed"
