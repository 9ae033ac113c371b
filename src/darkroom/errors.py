"""The base of every error darkroom raises on purpose.

Each part defines its own errors below these; the HTTP layer maps them to responses in
one place (`darkroom.api.errors`) by walking the class hierarchy, so no part below `api`
knows about HTTP beyond the status number an error carries.

    DarkroomError                 500 unless a subclass says otherwise
    ├── BadRequest                400  malformed or disallowed input
    │   └── (transform.ParseError, catalog.InvalidPublicId, …)
    ├── Unauthorized              401  bad signature, unknown key, stale request
    ├── Forbidden                 403  a policy refuses the request
    ├── NotFound                  404  unknown cloud, asset, preset …
    ├── Conflict                  409  already exists
    ├── TooManyAttempts           429  a client locked out after repeated failures
    └── TooLarge                  400  byte or pixel limits (Cloudinary answers 400)
"""

from __future__ import annotations


class DarkroomError(Exception):
    """An error with a public message (safe to show a client) and an HTTP status."""

    status: int = 500

    def __init__(self, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        # Internal detail for logs only; never sent to a client.
        self.detail = detail


class BadRequest(DarkroomError):
    status = 400


class Unauthorized(DarkroomError):
    status = 401


class Forbidden(DarkroomError):
    status = 403


class NotFound(DarkroomError):
    status = 404


class Conflict(DarkroomError):
    status = 409


class TooManyAttempts(DarkroomError):
    """Too many failed attempts from this client; `retry_after` seconds until it may try again."""

    status = 429

    def __init__(self, message: str, *, retry_after: int = 60) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TooLarge(BadRequest):
    """A byte or pixel limit was exceeded; Cloudinary reports these as 400."""
