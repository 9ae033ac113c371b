"""Console operators, their sign-in sessions, CSRF tokens and lock-out.

Why this module exists: the console is the one part of darkroom a person drives from a
browser, so it is the one part that relies on ambient credentials (a cookie). Everything
that makes a cookie safe lives here, in one place:

- passwords are argon2id hashes (argon2-cffi); an unknown user costs the same hash as a
  known one, so timing does not reveal who exists;
- after `MAX_FAILURES` consecutive failures an account is locked for `LOCK_SECONDS`;
- the cookie carries a random session id, signed with itsdangerous; the server keeps only
  the id's SHA-256 in `console_sessions`, so signing out (deleting the row) really ends it;
- every state-changing request must carry a CSRF token derived from the session id
  (`X-CSRF-Token` header or `csrf_token` form field) and, when the browser sends one, an
  `Origin` equal to the server's own.

Other parts ask one question: `console_session_user(request)` -> the signed-in operator's
name, or None. `/api/sign` uses it for policies that admit the console.

    AuthError (NotAuthenticated)    a sign-in was refused
    ├── LoginFailed                 wrong user name or password
    └── AccountLocked               too many failures; try again later
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.engine import Engine
from starlette.requests import HTTPConnection
from starlette.responses import Response

from darkroom.catalog.errors import duplicate_is_conflict
from darkroom.catalog.schema import access_tokens, console_sessions, console_users
from darkroom.errors import Conflict, Invalid, NotAuthenticated, NotFound

__all__ = [
    "MAX_FAILURES",
    "LOCK_SECONDS",
    "SESSION_COOKIE",
    "CSRF_HEADER",
    "CSRF_FIELD",
    "AuthError",
    "LoginFailed",
    "AccountLocked",
    "Operator",
    "ConsoleAuth",
    "AccessToken",
    "hash_password",
    "create_user",
    "set_password",
    "delete_user",
    "unlock_user",
    "list_users",
    "authenticate",
    "create_access_token",
    "list_access_tokens",
    "revoke_access_token",
    "find_access_token",
    "load_session_key",
    "console_auth",
    "console_session_user",
]

MAX_FAILURES = 5  # consecutive failed sign-ins before an account locks
LOCK_SECONDS = 15 * 60  # how long a locked account stays locked
SESSION_SECONDS = 12 * 60 * 60  # lifetime of a console session
SESSION_COOKIE = "darkroom_session"
LOGIN_COOKIE = "darkroom_login"  # pre-session CSRF nonce for the sign-in form
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so a miss costs as much as a hit.

    Made on first use: hashing at import would slow every `darkroom` command by a second.
    """
    return _hasher.hash(secrets.token_urlsafe(16))


class AuthError(NotAuthenticated):
    """A sign-in was refused."""


class LoginFailed(AuthError):
    def __init__(self) -> None:
        super().__init__("Invalid user name or password")


class AccountLocked(AuthError):
    def __init__(self) -> None:
        super().__init__("Too many failed sign-ins; this account is locked for a while")


@dataclass(frozen=True)
class Operator:
    username: str
    created_at: datetime
    last_login_at: datetime | None
    locked_until: datetime | None
    failed_logins: int


def utcnow() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite hands datetimes back naive; they were stored as UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# --- operators -------------------------------------------------------------------------


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise Invalid("Password must be at least 8 characters")
    return _hasher.hash(password)


def _check_username(username: str) -> str:
    name = username.strip()
    if not name or len(name) > 255 or any(ch.isspace() or ord(ch) < 32 for ch in name):
        raise Invalid("User name must be 1-255 characters without spaces")
    return name


def create_user(engine: Engine, username: str, password: str, *, now: datetime | None = None) -> Operator:
    name = _check_username(username)
    hashed = hash_password(password)
    # The check names the user; the primary key also refuses one created meanwhile (two servers starting at once).
    with duplicate_is_conflict(f"User {name} already exists"), engine.begin() as conn:
        if conn.execute(sa.select(console_users.c.username).where(console_users.c.username == name)).first():
            raise Conflict(f"User {name} already exists")
        conn.execute(
            sa.insert(console_users).values(
                username=name, password_hash=hashed, failed_logins=0, locked_until=None, created_at=now or utcnow()
            )
        )
    return _get_user(engine, name)


def set_password(engine: Engine, username: str, password: str) -> None:
    """Replace the password, clear any lock-out and end the user's sessions."""
    hashed = hash_password(password)
    with engine.begin() as conn:
        done = conn.execute(
            sa.update(console_users)
            .where(console_users.c.username == username)
            .values(password_hash=hashed, failed_logins=0, locked_until=None)
        )
        if not done.rowcount:
            raise NotFound(f"No such user: {username}")
        conn.execute(sa.delete(console_sessions).where(console_sessions.c.username == username))


def delete_user(engine: Engine, username: str) -> None:
    with engine.begin() as conn:
        conn.execute(sa.delete(console_sessions).where(console_sessions.c.username == username))
        if not conn.execute(sa.delete(console_users).where(console_users.c.username == username)).rowcount:
            raise NotFound(f"No such user: {username}")


def unlock_user(engine: Engine, username: str) -> None:
    with engine.begin() as conn:
        done = conn.execute(
            sa.update(console_users).where(console_users.c.username == username).values(failed_logins=0, locked_until=None)
        )
    if not done.rowcount:
        raise NotFound(f"No such user: {username}")


def list_users(engine: Engine) -> list[Operator]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(console_users).order_by(console_users.c.username)).mappings().all()
    return [_operator(row) for row in rows]


def _get_user(engine: Engine, username: str) -> Operator:
    with engine.connect() as conn:
        row = conn.execute(sa.select(console_users).where(console_users.c.username == username)).mappings().first()
    if row is None:
        raise NotFound(f"No such user: {username}")
    return _operator(row)


def _operator(row: Any) -> Operator:
    return Operator(
        row["username"], _aware(row["created_at"]) or utcnow(), _aware(row["last_login_at"]),
        _aware(row["locked_until"]), row["failed_logins"],
    )


def authenticate(engine: Engine, username: str, password: str, *, now: datetime | None = None) -> str:
    """The user name when the password is right; counts failures and enforces the lock-out."""
    now = now or utcnow()
    with engine.connect() as conn:
        row = conn.execute(sa.select(console_users).where(console_users.c.username == username)).mappings().first()
    if row is None:
        _verify(_dummy_hash(), password)
        raise LoginFailed()
    locked_until = _aware(row["locked_until"])
    if locked_until is not None and locked_until > now:
        raise AccountLocked()
    if not _verify(row["password_hash"], password):
        _record_failure(engine, username, row["failed_logins"], now)
        raise LoginFailed()
    _record_success(engine, username, row["password_hash"], password, now)
    return username


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def _record_failure(engine: Engine, username: str, previous: int, now: datetime) -> None:
    failures = previous + 1
    values: dict[str, Any] = {"failed_logins": failures}
    if failures >= MAX_FAILURES:
        values = {"failed_logins": 0, "locked_until": now + timedelta(seconds=LOCK_SECONDS)}
    with engine.begin() as conn:
        conn.execute(sa.update(console_users).where(console_users.c.username == username).values(**values))


def _record_success(engine: Engine, username: str, hashed: str, password: str, now: datetime) -> None:
    values: dict[str, Any] = {"failed_logins": 0, "locked_until": None, "last_login_at": now}
    if _hasher.check_needs_rehash(hashed):
        values["password_hash"] = _hasher.hash(password)
    with engine.begin() as conn:
        conn.execute(sa.update(console_users).where(console_users.c.username == username).values(**values))


# --- access tokens (bearer tokens for machine callers) ----------------------------------


@dataclass(frozen=True)
class AccessToken:
    id: str
    scope: str
    label: str
    created_at: datetime
    revoked_at: datetime | None


def create_access_token(engine: Engine, scope: str, label: str = "") -> tuple[AccessToken, str]:
    """A new token for `scope`; returns it with the secret text, which is shown once and never stored."""
    if not scope or not scope.isidentifier():
        raise Invalid("Scope must be a simple word, e.g. media")
    token_id = secrets.token_hex(6)
    text = f"drt_{scope}_{secrets.token_urlsafe(32)}"
    with duplicate_is_conflict(), engine.begin() as conn:
        conn.execute(
            sa.insert(access_tokens).values(
                id=token_id, token_hash=_sha256(text), scope=scope, label=label, created_at=utcnow(), revoked_at=None
            )
        )
    return AccessToken(token_id, scope, label, utcnow(), None), text


def list_access_tokens(engine: Engine, scope: str | None = None) -> list[AccessToken]:
    query = sa.select(access_tokens).order_by(access_tokens.c.created_at)
    if scope:
        query = query.where(access_tokens.c.scope == scope)
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [_token(row) for row in rows]


def revoke_access_token(engine: Engine, token_id: str) -> None:
    with engine.begin() as conn:
        done = conn.execute(
            sa.update(access_tokens)
            .where(access_tokens.c.id == token_id, access_tokens.c.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
    if not done.rowcount:
        raise NotFound(f"No active token with id {token_id}")


def find_access_token(engine: Engine, text: str, scope: str) -> AccessToken | None:
    """The active token whose text this is, if it carries `scope`.

    Looked up by SHA-256, so the comparison never touches the secret itself byte by byte.
    """
    with engine.connect() as conn:
        row = (
            conn.execute(sa.select(access_tokens).where(access_tokens.c.token_hash == _sha256(text)))
            .mappings()
            .first()
        )
    if row is None or row["revoked_at"] is not None or row["scope"] != scope:
        return None
    return _token(row)


def _token(row: Any) -> AccessToken:
    return AccessToken(row["id"], row["scope"], row["label"], _aware(row["created_at"]) or utcnow(), _aware(row["revoked_at"]))


# --- the session key -------------------------------------------------------------------


def load_session_key(secret: str, data_dir: Path) -> str:
    """The configured secret, else one generated once and kept in the data dir.

    Several processes may start together; the first to create the file wins (O_EXCL) and
    the others read what it wrote.
    """
    if secret:
        return secret
    path = data_dir / "session.key"
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key(path)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(48))
    return _read_key(path)


def _read_key(path: Path) -> str:
    for _ in range(50):
        text = path.read_text().strip()
        if text:
            return text
        time.sleep(0.02)  # another process is still writing it
    raise RuntimeError(f"{path} is empty")


# --- sessions and CSRF -----------------------------------------------------------------


class ConsoleAuth:
    """Sessions and CSRF for one app: the engine, and a key that signs cookies and tokens."""

    def __init__(self, engine: Engine, key: str) -> None:
        self.engine = engine
        self._key = key.encode()
        self._cookies = URLSafeTimedSerializer(key, salt="darkroom.console.session")
        self._login = URLSafeTimedSerializer(key, salt="darkroom.console.login")

    # sessions

    def start_session(self, username: str, *, now: datetime | None = None) -> str:
        """A new session for `username`; returns the signed cookie value."""
        now = now or utcnow()
        session_id = secrets.token_urlsafe(32)
        with duplicate_is_conflict(), self.engine.begin() as conn:
            conn.execute(sa.delete(console_sessions).where(console_sessions.c.expires_at < now))
            conn.execute(
                sa.insert(console_sessions).values(
                    id_hash=_sha256(session_id), username=username, created_at=now,
                    expires_at=now + timedelta(seconds=SESSION_SECONDS),
                )
            )
        return self._cookies.dumps(session_id)

    def session_id(self, cookie: str | None) -> str | None:
        if not cookie:
            return None
        try:
            value = self._cookies.loads(cookie, max_age=SESSION_SECONDS)
        except BadSignature:
            return None
        return value if isinstance(value, str) else None

    def session_user(self, session_id: str, *, now: datetime | None = None) -> str | None:
        now = now or utcnow()
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(console_sessions.c.username, console_sessions.c.expires_at).where(
                    console_sessions.c.id_hash == _sha256(session_id)
                )
            ).first()
        if row is None or (_aware(row.expires_at) or now) <= now:
            return None
        return str(row.username)

    def end_session(self, session_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.delete(console_sessions).where(console_sessions.c.id_hash == _sha256(session_id)))

    # CSRF

    def csrf_token(self, session_id: str) -> str:
        """A per-session token: an HMAC of the session id, so the server stores nothing more."""
        return hmac.new(self._key, b"csrf:" + session_id.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, session_id: str, presented: str | None) -> bool:
        return bool(presented) and hmac.compare_digest(self.csrf_token(session_id), presented or "")

    def login_nonce(self) -> tuple[str, str]:
        """(cookie value, form token) for the sign-in form, before any session exists."""
        nonce = secrets.token_urlsafe(24)
        return self._login.dumps(nonce), nonce

    def login_nonce_ok(self, cookie: str | None, presented: str | None) -> bool:
        if not cookie or not presented:
            return False
        try:
            nonce = self._login.loads(cookie, max_age=3600)
        except BadSignature:
            return False
        return isinstance(nonce, str) and hmac.compare_digest(nonce, presented)

    # the question other parts ask

    def request_user(self, request: HTTPConnection, *, presented_csrf: str | None = None, check_csrf: bool = True) -> str | None:
        """The operator behind this request's session cookie, or None.

        For methods other than GET/HEAD/OPTIONS the request must also carry the session's
        CSRF token (header, or `presented_csrf` from a form) and must not come from a
        foreign `Origin`.
        """
        session_id = self.session_id(request.cookies.get(SESSION_COOKIE))
        if session_id is None:
            return None
        method = request.scope.get("method", "GET")
        if check_csrf and method not in SAFE_METHODS:
            if not same_origin(request):
                return None
            if not self.csrf_ok(session_id, presented_csrf or request.headers.get(CSRF_HEADER)):
                return None
        return self.session_user(session_id)

    # cookies

    def set_session_cookie(self, response: Response, request: HTTPConnection, value: str) -> None:
        response.set_cookie(
            SESSION_COOKIE, value, max_age=SESSION_SECONDS, path="/", httponly=True,
            samesite="lax", secure=request.url.scheme == "https",
        )

    def set_login_cookie(self, response: Response, request: HTTPConnection, value: str) -> None:
        response.set_cookie(
            LOGIN_COOKIE, value, max_age=3600, path="/console", httponly=True,
            samesite="strict", secure=request.url.scheme == "https",
        )

    @staticmethod
    def clear_cookies(response: Response) -> None:
        response.delete_cookie(SESSION_COOKIE, path="/")
        response.delete_cookie(LOGIN_COOKIE, path="/console")


def same_origin(request: HTTPConnection) -> bool:
    """False only when the browser names an Origin that is not this server's own.

    Browsers send `Origin` on every cross-origin request and on same-origin POSTs; its
    absence (old clients, curl) is left to the CSRF token alone.
    """
    origin = request.headers.get("origin")
    if not origin:
        return True
    host = request.headers.get("host", "")
    return origin in (f"http://{host}", f"https://{host}")


def console_auth(app: Any) -> ConsoleAuth:
    """The app's ConsoleAuth, built on first use from the app's engine and settings."""
    state = app.state
    auth = getattr(state, "console_auth", None)
    if auth is None:
        services = state.services  # darkroom.api.services.Services: settings + engine
        key = load_session_key(str(services.settings.session_secret), Path(services.settings.data_dir))
        auth = ConsoleAuth(services.engine, key)
        state.console_auth = auth
    return auth


def console_session_user(request: HTTPConnection) -> str | None:
    """The signed-in console operator making this request, or None (CSRF-checked for writes).

    This is what `/api/sign` calls for policies with `allow_console`.
    """
    return console_auth(request.app).request_user(request)
