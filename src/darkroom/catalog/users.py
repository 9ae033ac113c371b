"""Console operators, their sign-in sessions and access tokens: the `console_users`,
`console_sessions` and `access_tokens` tables.

Only rows here: password hashing and cookie signing are `auth`'s, the lock-out policy and
the sign-in use case are `media.sessions`'; failed sign-ins are counted in
`catalog.throttles`. Secrets are never stored: a password as its
argon2 hash, a session id and a token as their SHA-256.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from darkroom.catalog.errors import duplicate_is_conflict
from darkroom.catalog.db import as_utc
from darkroom.catalog.schema import access_tokens, console_sessions, console_users
from darkroom.errors import Conflict, NotFound

__all__ = [
    "AccessToken",
    "Operator",
    "delete_session",
    "delete_user",
    "find_token_by_hash",
    "get_user",
    "insert_access_token",
    "insert_session",
    "insert_user",
    "list_access_tokens",
    "list_users",
    "password_hash_of",
    "record_sign_in",
    "revoke_access_token",
    "session_owner",
    "set_password_hash",
]


@dataclass(frozen=True)
class Operator:
    username: str
    created_at: datetime
    last_login_at: datetime | None


@dataclass(frozen=True)
class AccessToken:
    id: str
    scope: str
    label: str
    created_at: datetime
    revoked_at: datetime | None


def utcnow() -> datetime:
    return datetime.now(UTC)


# --- operators -------------------------------------------------------------------------


def insert_user(engine: Engine, username: str, password_hash: str, now: datetime) -> Operator:
    # The unique index also refuses one created between the check and the insert (two servers starting at once).
    with duplicate_is_conflict(f"User {username} already exists"), engine.begin() as conn:
        if conn.execute(sa.select(console_users.c.username).where(console_users.c.username == username)).first():
            raise Conflict(f"User {username} already exists")
        conn.execute(
            sa.insert(console_users).values(
                username=username, password_hash=password_hash, created_at=now
            )
        )
    return get_user(engine, username)


def set_password_hash(engine: Engine, username: str, password_hash: str) -> None:
    """Replace the password and end the user's sessions."""
    with engine.begin() as conn:
        done = conn.execute(
            sa.update(console_users)
            .where(console_users.c.username == username)
            .values(password_hash=password_hash)
        )
        if not done.rowcount:
            raise NotFound(f"No such user: {username}")
        conn.execute(sa.delete(console_sessions).where(console_sessions.c.username == username))


def delete_user(engine: Engine, username: str) -> None:
    with engine.begin() as conn:
        conn.execute(sa.delete(console_sessions).where(console_sessions.c.username == username))
        if not conn.execute(sa.delete(console_users).where(console_users.c.username == username)).rowcount:
            raise NotFound(f"No such user: {username}")


def list_users(engine: Engine) -> list[Operator]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(console_users).order_by(console_users.c.username)).mappings().all()
    return [_operator(row) for row in rows]


def get_user(engine: Engine, username: str) -> Operator:
    with engine.connect() as conn:
        row = conn.execute(sa.select(console_users).where(console_users.c.username == username)).mappings().first()
    if row is None:
        raise NotFound(f"No such user: {username}")
    return _operator(row)


def _operator(row: Any) -> Operator:
    return Operator(row["username"], as_utc(row["created_at"]) or utcnow(), as_utc(row["last_login_at"]))


def password_hash_of(engine: Engine, username: str) -> str | None:
    """What a sign-in checks the password against; None for an unknown user."""
    with engine.connect() as conn:
        found = conn.execute(sa.select(console_users.c.password_hash).where(console_users.c.username == username)).scalar()
    return None if found is None else str(found)


def record_sign_in(engine: Engine, username: str, now: datetime, rehashed: str | None = None) -> None:
    """A successful sign-in: its time, and the password's new hash when the old one was weaker."""
    values: dict[str, Any] = {"last_login_at": now}
    if rehashed is not None:
        values["password_hash"] = rehashed
    with engine.begin() as conn:
        conn.execute(sa.update(console_users).where(console_users.c.username == username).values(**values))


# --- sessions --------------------------------------------------------------------------


def insert_session(engine: Engine, id_hash: str, username: str, now: datetime, expires_at: datetime) -> None:
    """A new session row; expired ones are swept on the way."""
    with duplicate_is_conflict(), engine.begin() as conn:
        conn.execute(sa.delete(console_sessions).where(console_sessions.c.expires_at < now))
        conn.execute(
            sa.insert(console_sessions).values(id_hash=id_hash, username=username, created_at=now, expires_at=expires_at)
        )


def session_owner(engine: Engine, id_hash: str) -> tuple[str, datetime | None] | None:
    """(username, expires_at) of the session, if its row exists."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(console_sessions.c.username, console_sessions.c.expires_at).where(console_sessions.c.id_hash == id_hash)
        ).first()
    return None if row is None else (str(row.username), as_utc(row.expires_at))


def delete_session(engine: Engine, id_hash: str) -> None:
    with engine.begin() as conn:
        conn.execute(sa.delete(console_sessions).where(console_sessions.c.id_hash == id_hash))


# --- access tokens ---------------------------------------------------------------------


def insert_access_token(engine: Engine, token_id: str, token_hash: str, scope: str, label: str, now: datetime) -> AccessToken:
    with duplicate_is_conflict(), engine.begin() as conn:
        conn.execute(
            sa.insert(access_tokens).values(
                id=token_id, token_hash=token_hash, scope=scope, label=label, created_at=now, revoked_at=None
            )
        )
    return AccessToken(token_id, scope, label, now, None)


def list_access_tokens(engine: Engine, scope: str | None = None) -> list[AccessToken]:
    query = sa.select(access_tokens).order_by(access_tokens.c.created_at)
    if scope:
        query = query.where(access_tokens.c.scope == scope)
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [_token(row) for row in rows]


def revoke_access_token(engine: Engine, token_id: str, now: datetime) -> None:
    with engine.begin() as conn:
        done = conn.execute(
            sa.update(access_tokens)
            .where(access_tokens.c.id == token_id, access_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
    if not done.rowcount:
        raise NotFound(f"No active token with id {token_id}")


def find_token_by_hash(engine: Engine, token_hash: str) -> AccessToken | None:
    with engine.connect() as conn:
        row = conn.execute(sa.select(access_tokens).where(access_tokens.c.token_hash == token_hash)).mappings().first()
    return None if row is None else _token(row)


def _token(row: Any) -> AccessToken:
    return AccessToken(row["id"], row["scope"], row["label"], as_utc(row["created_at"]) or utcnow(), as_utc(row["revoked_at"]))
