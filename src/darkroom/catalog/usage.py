"""What a cloud holds, for the Admin API's `usage`: asset counts and bytes, derivatives, transformations."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from darkroom.catalog.schema import assets, derived

__all__ = ["Usage", "usage"]


@dataclass(frozen=True)
class Usage:
    resources: int  # assets
    storage_bytes: int  # originals and derivatives
    derived_resources: int
    derived_bytes: int
    transformations: int  # distinct transformations rendered


def usage(engine: Engine, cloud: str) -> Usage:
    owned = sa.select(assets.c.id).where(assets.c.cloud == cloud)
    with engine.connect() as conn:
        count, original_bytes = conn.execute(
            sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(assets.c.bytes), 0)).where(assets.c.cloud == cloud)
        ).one()
        derived_count, derived_bytes, transformations = conn.execute(
            sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(derived.c.bytes), 0),
                      sa.func.count(sa.distinct(derived.c.transformation))).where(derived.c.asset_pk.in_(owned))
        ).one()
    return Usage(int(count), int(original_bytes) + int(derived_bytes), int(derived_count), int(derived_bytes), int(transformations))
