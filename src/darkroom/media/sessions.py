"""Console operators, their sign-in sessions, CSRF tokens, lock-out and access tokens.

Why this module exists: the console is the one part of darkroom a person drives from a
browser, so it is the one part that relies on ambient credentials (a cookie). The use
cases that make a cookie safe live here, in one place; the rows are `catalog.users`', the
hashing and signing `auth.passwords`' and `auth.cookies`':

- passwords are argon2id hashes; an unknown user costs the same hash as a known one, so
  timing does not reveal who exists;
- failed sign-ins are counted per (user, client address), per user and per client address
  (`media.throttling`): `MAX_FAILURES` failures from one address lock the user out *from
  that address* for `LOCK_SECONDS`, doubling with every further round; only many more
  failures, from anywhere, lock the user out everywhere, briefly (docs/console.md, "Lock-out");
- the cookie carries a random session id, signed; the server keeps only the id's SHA-256
  in `console_sessions`, so signing out (deleting the row) really ends it;
- every state-changing request must carry a CSRF token derived from the session id
  (`X-CSRF-Token` header or `csrf_token` form field) and, when the browser sends one, an
  `Origin` equal to the server's own.

Edges ask one question: `ConsoleAuth.request_user(cookies, headers, method)` -> the
signed-in operator's name, or None. `/api/sign` uses it for policies that admit the console.
Setting the cookies on a response is the console's business.

    AuthError (NotAuthenticated)    a sign-in was refused
    ├── LoginFailed                 wrong user name or password
    └── AccountLocked               too many failures; try again later
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path

from darkroom.auth.cookies import SessionSigner, same_origin, sha256_hex
from darkroom.auth.passwords import dummy_hash, hash_password, needs_rehash, verify_password
from darkroom.catalog import Engine, throttles, users
from darkroom.catalog.throttles import Lock
from darkroom.catalog.users import AccessToken, Operator, utcnow
from darkroom.media.throttling import ANY_CLIENT, SIGN_IN_ANY_CLIENT, SIGN_IN_FROM_CLIENT, SIGN_INS_FROM_CLIENT, ThrottleKey
from darkroom.media import throttling
from darkroom.errors import Invalid, NotAuthenticated

__all__ = [
    "MAX_FAILURES",
    "UNKNOWN_CLIENT",
    "LOCK_SECONDS",
    "SESSION_SECONDS",
    "SESSION_COOKIE",
    "LOGIN_COOKIE",
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
    "user_locks",
    "authenticate",
    "create_access_token",
    "list_access_tokens",
    "revoke_access_token",
    "find_access_token",
    "load_session_key",
    "same_origin",
    "utcnow",
]

MAX_FAILURES = SIGN_IN_FROM_CLIENT.threshold  # failed sign-ins from one address before the user is locked out there
LOCK_SECONDS = int(SIGN_IN_FROM_CLIENT.first_lock.total_seconds())  # the first such lock; each further round doubles it
UNKNOWN_CLIENT = "unknown"  # the client address of a sign-in whose address the server does not know
SESSION_SECONDS = 12 * 60 * 60  # lifetime of a console session
SESSION_COOKIE = "darkroom_session"
LOGIN_COOKIE = "darkroom_login"  # pre-session CSRF nonce for the sign-in form
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class AuthError(NotAuthenticated):
    """A sign-in was refused."""


class LoginFailed(AuthError):
    def __init__(self) -> None:
        super().__init__("Invalid user name or password")


class AccountLocked(AuthError):
    def __init__(self) -> None:
        super().__init__("Too many failed sign-ins; this account is locked for a while")


# --- operators -------------------------------------------------------------------------


def _check_username(username: str) -> str:
    name = username.strip()
    if not name or len(name) > 255 or any(ch.isspace() or ord(ch) < 32 for ch in name):
        raise Invalid("User name must be 1-255 characters without spaces")
    return name


def create_user(engine: Engine, username: str, password: str, *, now: datetime | None = None) -> Operator:
    name = _check_username(username)
    return users.insert_user(engine, name, hash_password(password), now or utcnow())


def set_password(engine: Engine, username: str, password: str) -> None:
    """Replace the password, clear any lock-out and end the user's sessions."""
    users.set_password_hash(engine, username, hash_password(password))
    throttles.clear_subject(engine, SIGN_IN_FROM_CLIENT.kind, username)


def delete_user(engine: Engine, username: str) -> None:
    users.delete_user(engine, username)


def unlock_user(engine: Engine, username: str) -> None:
    """Clear the user's lock-outs, from every address."""
    users.get_user(engine, username)  # NotFound for a name that is no user
    throttles.clear_subject(engine, SIGN_IN_FROM_CLIENT.kind, username)


def user_locks(engine: Engine, username: str, *, now: datetime | None = None) -> list[Lock]:
    """The user's running lock-outs: `client` is an address, or "*" when locked out from everywhere."""
    return throttles.locks_of(engine, SIGN_IN_FROM_CLIENT.kind, username, now or utcnow())


def list_users(engine: Engine) -> list[Operator]:
    return users.list_users(engine)


def authenticate(engine: Engine, username: str, password: str, *, client: str = UNKNOWN_CLIENT, now: datetime | None = None) -> str:
    """The user name when the password is right; counts failures and enforces the lock-outs.

    `client` is the address the attempt comes from. A lock-out is checked before the
    password, so a locked key gives a guesser no answer at all.
    """
    now = now or utcnow()
    from_client, any_client, client_wide = _sign_in_keys(username, client)
    if throttling.locked_until(engine, (from_client, any_client, client_wide), now) is not None:
        raise AccountLocked()
    hashed = users.password_hash_of(engine, username)
    if hashed is None:
        verify_password(dummy_hash(), password)  # the same cost as a known user's wrong password
        throttling.count_failure(engine, SIGN_INS_FROM_CLIENT, client_wide, now)
        raise LoginFailed()
    # The attempt is counted as a failure *before* the slow password check (a right password
    # takes it back below), so concurrent guesses cannot all pass the lock check above before
    # any of them is counted: once one completes a round and locks the key, every attempt
    # counted after it is refused unchecked.
    if throttling.count_failure(engine, SIGN_IN_FROM_CLIENT, from_client, now):
        raise AccountLocked()
    if not verify_password(hashed, password):
        throttling.count_failure(engine, SIGN_IN_ANY_CLIENT, any_client, now)
        throttling.count_failure(engine, SIGN_INS_FROM_CLIENT, client_wide, now)
        raise LoginFailed()
    # The client-wide count is kept: one account known to an attacker must not reset its guesses at others.
    throttling.clear(engine, (from_client, any_client))
    users.record_sign_in(engine, username, now, hash_password(password) if needs_rehash(hashed) else None)
    return username


def _sign_in_keys(username: str, client: str) -> tuple[ThrottleKey, ThrottleKey, ThrottleKey]:
    """(this user from this address, this user from anywhere, any user from this address)."""
    client = client or UNKNOWN_CLIENT
    return (
        SIGN_IN_FROM_CLIENT.key(username, client),
        SIGN_IN_ANY_CLIENT.key(username, ANY_CLIENT),
        SIGN_INS_FROM_CLIENT.key("", client),
    )


# --- access tokens (bearer tokens for machine callers) ----------------------------------


def create_access_token(engine: Engine, scope: str, label: str = "") -> tuple[AccessToken, str]:
    """A new token for `scope`; returns it with the secret text, which is shown once and never stored."""
    if not scope or not scope.isidentifier():
        raise Invalid("Scope must be a simple word, e.g. media")
    text = f"drt_{scope}_{secrets.token_urlsafe(32)}"
    token = users.insert_access_token(engine, secrets.token_hex(6), sha256_hex(text), scope, label, utcnow())
    return token, text


def list_access_tokens(engine: Engine, scope: str | None = None) -> list[AccessToken]:
    return users.list_access_tokens(engine, scope)


def revoke_access_token(engine: Engine, token_id: str) -> None:
    users.revoke_access_token(engine, token_id, utcnow())


def find_access_token(engine: Engine, text: str, scope: str) -> AccessToken | None:
    """The active token whose text this is, if it carries `scope`.

    Looked up by SHA-256, so the comparison never touches the secret itself byte by byte.
    """
    token = users.find_token_by_hash(engine, sha256_hex(text))
    if token is None or token.revoked_at is not None or token.scope != scope:
        return None
    return token


# --- the session key -------------------------------------------------------------------


def load_session_key(secret: str, data_dir: Path) -> str:
    """The configured secret, else one generated once and kept in the data dir.

    Several processes may start together. Each writes a candidate to a file of its own and
    links it to `session.key`; the link fails for all but the first, and they read the
    first's. The key file is never seen empty or half-written, even after a crash.
    """
    if secret:
        return secret
    path = data_dir / "session.key"
    data_dir.mkdir(parents=True, exist_ok=True)
    candidate = data_dir / f".session.key.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
        with contextlib.suppress(FileExistsError):
            os.link(candidate, path)
    finally:
        candidate.unlink(missing_ok=True)
    key = path.read_text().strip()
    if not key:
        raise RuntimeError(f"{path} is empty: remove it, and a new key is made at the next start")
    return key


# --- sessions and CSRF -----------------------------------------------------------------


class ConsoleAuth:
    """Sessions and CSRF for one app: the engine, and a key that signs cookies and tokens.

    Blocking (database round trips): call its session methods from a worker thread.
    """

    def __init__(self, engine: Engine, key: str) -> None:
        self.engine = engine
        self._signer = SessionSigner(key)

    # sessions

    def start_session(self, username: str, *, now: datetime | None = None) -> str:
        """A new session for `username`; returns the signed cookie value."""
        now = now or utcnow()
        session_id = secrets.token_urlsafe(32)
        users.insert_session(self.engine, sha256_hex(session_id), username, now, now + timedelta(seconds=SESSION_SECONDS))
        return self._signer.session_cookie(session_id)

    def session_id(self, cookie: str | None) -> str | None:
        return self._signer.session_id(cookie, max_age=SESSION_SECONDS)

    def session_user(self, session_id: str, *, now: datetime | None = None) -> str | None:
        now = now or utcnow()
        owner = users.session_owner(self.engine, sha256_hex(session_id))
        if owner is None or (owner[1] or now) <= now:
            return None
        return owner[0]

    def end_session(self, session_id: str) -> None:
        users.delete_session(self.engine, sha256_hex(session_id))

    # CSRF

    def csrf_token(self, session_id: str) -> str:
        """A per-session token: an HMAC of the session id, so the server stores nothing more."""
        return self._signer.csrf_token(session_id)

    def csrf_ok(self, session_id: str, presented: str | None) -> bool:
        return self._signer.csrf_ok(session_id, presented)

    def login_nonce(self) -> tuple[str, str]:
        """(cookie value, form token) for the sign-in form, before any session exists."""
        return self._signer.login_nonce()

    def login_nonce_ok(self, cookie: str | None, presented: str | None) -> bool:
        return self._signer.login_nonce_ok(cookie, presented)

    # the question the edges ask

    def request_user(
        self,
        cookies: Mapping[str, str],
        headers: Mapping[str, str],
        method: str,
        *,
        presented_csrf: str | None = None,
        check_csrf: bool = True,
    ) -> str | None:
        """The operator behind a request's session cookie, or None.

        For methods other than GET/HEAD/OPTIONS the request must also carry the session's
        CSRF token (header, or `presented_csrf` from a form) and must not come from a
        foreign `Origin`. `headers` are looked up by lower-case name.
        """
        session_id = self.session_id(cookies.get(SESSION_COOKIE))
        if session_id is None:
            return None
        if check_csrf and method not in SAFE_METHODS:
            if not same_origin(headers.get("origin"), headers.get("host", "")):
                return None
            if not self.csrf_ok(session_id, presented_csrf or headers.get(CSRF_HEADER)):
                return None
        return self.session_user(session_id)
