"""What a cloud holds and serves, for the Admin API's `usage`.

Storage, assets and derived assets are what the cloud holds now. Requests, bandwidth and
transformations are counted over a period of days, as Cloudinary reports them: delivery
requests and their bytes (added every few seconds by each server process,
`add_delivery_usage`), and transformations as the derived assets generated in the period.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from darkroom.catalog.db import upsert_insert
from darkroom.catalog.schema import assets, clouds, delivery_usage, derived

__all__ = ["DeliveryCount", "Usage", "add_delivery_usage", "usage"]


@dataclass(frozen=True)
class Usage:
    resources: int  # assets
    storage_bytes: int  # originals and derivatives
    derived_resources: int
    derived_bytes: int
    transformations: int  # derived assets generated in the period
    requests: int  # delivery requests answered in the period
    bandwidth: int  # bytes delivered in the period


@dataclass(frozen=True)
class DeliveryCount:
    """Deliveries of one cloud counted by one process since its last report."""

    cloud: str
    day: date  # UTC
    requests: int
    bandwidth: int  # bytes


def usage(engine: Engine, cloud: str, first_day: date, last_day: date) -> Usage:
    """The cloud's holdings now, and what it served and generated from `first_day` to `last_day` (UTC, inclusive)."""
    owned = sa.select(assets.c.id).where(assets.c.cloud == cloud)
    period_start = datetime.combine(first_day, time.min, UTC)
    period_end = datetime.combine(last_day + timedelta(days=1), time.min, UTC)
    in_period = derived.c.created_at >= period_start, derived.c.created_at < period_end
    with engine.connect() as conn:
        count, original_bytes = conn.execute(
            sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(assets.c.bytes), 0)).where(assets.c.cloud == cloud)
        ).one()
        derived_count, derived_bytes, generated = conn.execute(
            sa.select(
                sa.func.count(),
                sa.func.coalesce(sa.func.sum(derived.c.bytes), 0),
                sa.func.count().filter(sa.and_(*in_period)),
            ).where(derived.c.asset_pk.in_(owned))
        ).one()
        requests, bandwidth = conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(delivery_usage.c.requests), 0), sa.func.coalesce(sa.func.sum(delivery_usage.c.bandwidth), 0))
            .where(delivery_usage.c.cloud == cloud, delivery_usage.c.day >= first_day, delivery_usage.c.day <= last_day)
        ).one()
    return Usage(
        resources=int(count),
        storage_bytes=int(original_bytes) + int(derived_bytes),
        derived_resources=int(derived_count),
        derived_bytes=int(derived_bytes),
        transformations=int(generated),
        requests=int(requests),
        bandwidth=int(bandwidth),
    )


@functools.cache
def _add_statement(dialect: str) -> sa.Insert:
    """Adds one count to its (cloud, day) row, creating the row if needed; a cloud deleted since
    the deliveries gives the select no row, so nothing is added for it. Built once per dialect."""
    existing_cloud = (
        sa.select(clouds.c.name, sa.bindparam("day", type_=sa.Date), sa.bindparam("requests", type_=sa.BigInteger), sa.bindparam("bandwidth", type_=sa.BigInteger))
        .where(clouds.c.name == sa.bindparam("cloud"))
    )
    insert = upsert_insert(dialect)(delivery_usage).from_select(
        ["cloud", "day", "requests", "bandwidth"], existing_cloud
    )
    upsert: sa.Insert = insert.on_conflict_do_update(
        index_elements=[delivery_usage.c.cloud, delivery_usage.c.day],
        set_={
            "requests": delivery_usage.c.requests + insert.excluded.requests,
            "bandwidth": delivery_usage.c.bandwidth + insert.excluded.bandwidth,
        },
    )
    return upsert


def add_delivery_usage(engine: Engine, counts: Iterable[DeliveryCount]) -> None:
    """Add a process's delivery counts to the daily totals, in one transaction."""
    rows = [{"cloud": c.cloud, "day": c.day, "requests": c.requests, "bandwidth": c.bandwidth} for c in counts]
    if not rows:
        return
    with engine.begin() as conn:
        # Cloud order: two processes adding at once lock the rows in the same order (no deadlock).
        for row in sorted(rows, key=lambda row: (row["cloud"], row["day"])):
            conn.execute(_add_statement(engine.dialect.name), row)
