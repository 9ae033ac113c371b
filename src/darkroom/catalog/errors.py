"""Errors of the catalog, and the one place a database's refusal of a duplicate becomes one.

    DarkroomError
    ├── NotFound ── CloudNotFound, AssetNotFound, PresetNotFound
    ├── Invalid ── InvalidPublicId
    └── Conflict ── AssetExists

A unique index is the last word on "already exists": a look-up before an insert can lose a race
to a concurrent request, the index cannot. `duplicate_is_conflict` wraps a transaction that
inserts or renames and turns the index's refusal into a `Conflict`, on SQLite and PostgreSQL
alike, so no part above the catalog sees a database exception.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import sqlalchemy as sa

from darkroom.errors import Conflict, Invalid, NotFound

__all__ = [
    "CONCURRENT_DUPLICATE", "AssetExists", "AssetNotFound", "CloudNotFound", "InvalidPublicId", "PresetNotFound",
    "duplicate_is_conflict", "is_duplicate",
]

log = logging.getLogger("darkroom.catalog")

# What a client reads when a row it creates was created by a concurrent request first.
CONCURRENT_DUPLICATE = "Conflict: a concurrent request created the same item"

# PostgreSQL's unique_violation; SQLite's extended codes for a UNIQUE index and a primary key.
_PG_UNIQUE_VIOLATION = "23505"
_SQLITE_DUPLICATE = frozenset(("SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"))


class CloudNotFound(NotFound):
    pass


class AssetNotFound(NotFound):
    pass


class PresetNotFound(NotFound):
    pass


class InvalidPublicId(Invalid):
    pass


class AssetExists(Conflict):
    pass


def is_duplicate(error: sa.exc.IntegrityError) -> bool:
    """Whether a unique index or primary key refused the row (not a foreign key, NOT NULL or CHECK)."""
    driver_error = error.orig
    return (getattr(driver_error, "sqlstate", None) == _PG_UNIQUE_VIOLATION  # psycopg
            or getattr(driver_error, "sqlite_errorname", None) in _SQLITE_DUPLICATE)  # sqlite3


@contextlib.contextmanager
def duplicate_is_conflict(message: str = CONCURRENT_DUPLICATE) -> Iterator[None]:
    """Raise `Conflict(message)` for a duplicate refused inside the block; other errors pass unchanged.

    Enter it before the transaction (`with duplicate_is_conflict(…), engine.begin() as conn:`)
    so the transaction has rolled back by the time the Conflict leaves.
    """
    try:
        yield
    except sa.exc.IntegrityError as error:
        if not is_duplicate(error):
            raise
        log.info("unique violation: %s", error.orig)
        raise Conflict(message, detail=str(error.orig)) from error
