"""A cloud's settings that have no column of their own (clouds.settings, a JSON object).

Read by the Admin API per call (cached briefly there) — `backups`, `rate_limit` — and written by
operators' tools and tests. Unknown keys are kept as they are.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from darkroom.catalog.schema import clouds
from darkroom.errors import NotFound

__all__ = ["cloud_settings", "set_cloud_setting"]


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
