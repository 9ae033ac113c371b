"""Signed values for the console's browser session: the session cookie, the sign-in form's
nonce and the per-session CSRF token.

The cookie carries a random session id signed with itsdangerous (the server keeps only its
SHA-256); the CSRF token is an HMAC of the session id, so the server stores nothing more.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from itsdangerous import BadSignature, URLSafeTimedSerializer

from darkroom.auth.requests import secrets_equal  # compares bytes: any text a client sends, never raises

__all__ = ["SessionSigner", "same_origin", "sha256_hex"]


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class SessionSigner:
    """Signs and checks the console's cookies and CSRF tokens with one key."""

    def __init__(self, key: str) -> None:
        self._key = key.encode()
        self._cookies = URLSafeTimedSerializer(key, salt="darkroom.console.session")
        self._login = URLSafeTimedSerializer(key, salt="darkroom.console.login")

    def session_cookie(self, session_id: str) -> str:
        return self._cookies.dumps(session_id)

    def session_id(self, cookie: str | None, max_age: int) -> str | None:
        """The session id a cookie carries, if its signature holds and it is at most `max_age` s old."""
        if not cookie:
            return None
        try:
            value = self._cookies.loads(cookie, max_age=max_age)
        except BadSignature:
            return None
        return value if isinstance(value, str) else None

    def csrf_token(self, session_id: str) -> str:
        """A per-session token: an HMAC of the session id."""
        return hmac.new(self._key, b"csrf:" + session_id.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, session_id: str, presented: str | None) -> bool:
        return bool(presented) and secrets_equal(presented or "", self.csrf_token(session_id))

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
        return isinstance(nonce, str) and secrets_equal(presented, nonce)


def same_origin(origin: str | None, host: str) -> bool:
    """False only when the browser names an Origin that is not this server's own (`host`).

    Browsers send `Origin` on every cross-origin request and on same-origin POSTs; its
    absence (old clients, curl) is left to the CSRF token alone.
    """
    if not origin:
        return True
    return origin in (f"http://{host}", f"https://{host}")
