"""Failed attempts counted per key, and the lock they lead to: the `throttles` table.

Only rows here; which keys exist, how many failures lock and for how long is
`media.throttling`'s. Counting is one statement (`INSERT … ON CONFLICT DO UPDATE SET
failures = failures + 1 … RETURNING failures`) so that concurrent failures never read the
same count and write the same `previous + 1`: each gets a count of its own, on SQLite
(3.35 and later) as on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from darkroom.catalog.db import as_utc, upsert_insert
from darkroom.catalog.schema import throttles

__all__ = ["FORGET_AFTER", "Lock", "ThrottleKey", "clear", "clear_subject", "count_and_lock", "count_failure", "locks_of", "active_lock"]

FORGET_AFTER = timedelta(days=1)  # a key quiet (and unlocked) this long is forgotten: its back-off starts over


@dataclass(frozen=True)
class ThrottleKey:
    kind: str
    subject: str
    client: str


@dataclass(frozen=True)
class Lock:
    client: str
    until: datetime


def _is(key: ThrottleKey) -> sa.ColumnElement[bool]:
    return sa.and_(throttles.c.kind == key.kind, throttles.c.subject == key.subject, throttles.c.client == key.client)


def count_failure(engine: Engine, key: ThrottleKey, now: datetime) -> int:
    """Add one failure to the key's count (creating its row) and return the new count."""
    return count_and_lock(engine, key, now, lambda _failures: None)[0]


def count_and_lock(
    engine: Engine, key: ThrottleKey, now: datetime, lock_for: Callable[[int], timedelta | None]
) -> tuple[int, datetime | None]:
    """Add one failure to the key's count and, when `lock_for(count)` says so, lock it — in one
    transaction, which holds the key's row, so a concurrent attempt counts after this one and
    sees its lock. Returns (the new count, the lock's end as it stood before this count)."""
    insert = upsert_insert(engine.dialect.name)(throttles).values(kind=key.kind, subject=key.subject, client=key.client, failures=1, updated_at=now)
    upsert = insert.on_conflict_do_update(
        index_elements=[throttles.c.kind, throttles.c.subject, throttles.c.client],
        set_={"failures": throttles.c.failures + 1, "updated_at": now},
    ).returning(throttles.c.failures, throttles.c.locked_until)
    with engine.begin() as conn:
        failures, locked_until = conn.execute(upsert).one()
        lock = lock_for(int(failures))
        if lock is not None:
            conn.execute(
                sa.update(throttles)
                .where(_is(key), sa.or_(throttles.c.locked_until.is_(None), throttles.c.locked_until < now + lock))
                .values(locked_until=now + lock)
            )
        if failures == 1:  # a new key: the moment to forget the keys nobody has failed on for long
            _forget_quiet_keys(conn, now)
    return int(failures), as_utc(locked_until)


def _forget_quiet_keys(conn: sa.Connection, now: datetime) -> None:
    quiet = now - FORGET_AFTER
    conn.execute(
        sa.delete(throttles).where(
            throttles.c.updated_at < quiet, sa.or_(throttles.c.locked_until.is_(None), throttles.c.locked_until < now)
        )
    )


def active_lock(engine: Engine, keys: Iterable[ThrottleKey], now: datetime) -> datetime | None:
    """The latest end of a lock still running on any of the keys, or None."""
    wanted = [_is(key) for key in keys]
    if not wanted:
        return None
    with engine.connect() as conn:
        until = conn.execute(sa.select(sa.func.max(throttles.c.locked_until)).where(sa.or_(*wanted))).scalar()
    until = as_utc(until)
    return until if until is not None and until > now else None


def locks_of(engine: Engine, kind: str, subject: str, now: datetime) -> list[Lock]:
    """The locks still running on a subject's keys (for listings), latest first."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(throttles.c.client, throttles.c.locked_until)
            .where(throttles.c.kind == kind, throttles.c.subject == subject, throttles.c.locked_until > now)
            .order_by(throttles.c.locked_until.desc())
        ).all()
    return [Lock(row.client, as_utc(row.locked_until) or now) for row in rows]


def clear(engine: Engine, keys: Iterable[ThrottleKey]) -> None:
    """Forget the keys' failures and locks (a success)."""
    wanted = [_is(key) for key in keys]
    if wanted:
        with engine.begin() as conn:
            conn.execute(sa.delete(throttles).where(sa.or_(*wanted)))


def clear_subject(engine: Engine, kind: str, subject: str) -> None:
    """Forget every key of a subject, whatever the client (an operator unlocking a user)."""
    with engine.begin() as conn:
        conn.execute(sa.delete(throttles).where(throttles.c.kind == kind, throttles.c.subject == subject))
