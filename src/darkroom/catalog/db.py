"""Engines for the metadata database, and migrating it to the current schema.

SQLite runs in WAL mode with foreign keys on, so readers never wait for the one writer;
PostgreSQL is reached through psycopg 3. Both are migrated by Alembic at start-up.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.engine.interfaces import DBAPIConnection

__all__ = ["Engine", "as_utc", "create_engine_for", "migrate", "rolled_back_transiently", "upsert_insert"]

_MIGRATIONS = Path(__file__).parent / "migrations"


def create_engine_for(url: str) -> Engine:
    """An engine for `url`; SQLite files get WAL, a busy timeout and foreign keys."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # A 64 MB page cache and memory-mapped reads roughly halve the slowest searches (bench/search.py).
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.execute("PRAGMA mmap_size=268435456")
    cursor.close()


MIGRATION_LOCK = 0x6461726B726F6F6D  # "darkroom": the advisory lock migrations hold on PostgreSQL


def migrate(engine: Engine) -> None:
    """Bring the database up to the newest schema revision."""
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Servers of a cluster start together: one migrates, the others wait, then find it done.
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(MIGRATION_LOCK)))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


# PostgreSQL's deadlock_detected and serialization_failure: the transaction was rolled back.
TRANSIENT_SQLSTATES = frozenset(("40P01", "40001"))


def rolled_back_transiently(error: BaseException) -> bool:
    """Whether the database rolled the whole transaction back for a reason that may not recur
    (a deadlock victim, a serialization failure): running it again is the remedy."""
    return isinstance(error, sa.exc.OperationalError) and getattr(error.orig, "sqlstate", None) in TRANSIENT_SQLSTATES


def as_utc(moment: datetime | None) -> datetime | None:
    """A stored time as an aware UTC datetime: SQLite hands them back naive (they were stored as UTC)."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def upsert_insert(dialect_name: str) -> Callable[[sa.Table], postgresql.Insert | sqlite.Insert]:
    """`insert` of the dialect with `on_conflict_do_update` (PostgreSQL's, else SQLite's)."""
    return postgresql.insert if dialect_name == "postgresql" else sqlite.insert
