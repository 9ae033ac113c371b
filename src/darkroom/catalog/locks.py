"""PostgreSQL advisory locks: a mutual exclusion every process on the database shares.

Used for single-flight renders across servers when no Redis is configured
(`media.shared_state`). A lock belongs to the connection that took it, so a taken lock is
returned as that connection, held out of the pool until `release_advisory_lock`. A process
that dies frees its locks with its connections. SQLite has no such locks: one machine's
processes are kept apart by each process's own single-flight.
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

__all__ = ["lock_engine", "release_advisory_lock", "supports_advisory_locks", "try_advisory_lock"]


def supports_advisory_locks(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def lock_engine(engine: Engine, connections: int) -> Engine:
    """A small engine of its own for advisory locks, on the same database. A held lock keeps
    its connection out of the pool; taken from the main pool, a burst of distinct renders
    would leave no connection for the queries (recording those very renders included)."""
    return sa.create_engine(engine.url, pool_size=connections, max_overflow=0, pool_pre_ping=True)


def _lock_id(name: str) -> int:
    """A signed 64-bit number for `name` (advisory locks are keyed by bigint)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def try_advisory_lock(engine: Engine, name: str) -> Connection | None:
    """Take the lock named `name` if free: the connection holding it, else None (at once, no waiting)."""
    conn = engine.connect()
    try:
        taken = conn.execute(sa.select(sa.func.pg_try_advisory_lock(_lock_id(name)))).scalar()
        conn.commit()  # end the implicit transaction; the session-level lock stays
    except BaseException:
        conn.close()
        raise
    if taken:
        return conn
    conn.close()
    return None


def release_advisory_lock(conn: Connection, name: str) -> None:
    try:
        conn.execute(sa.select(sa.func.pg_advisory_unlock(_lock_id(name))))
        conn.commit()
    finally:
        conn.close()
