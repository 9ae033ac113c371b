"""The base of every error darkroom raises on purpose: what went wrong, not how to answer it.

Each part defines its own errors below these. An edge maps them to replies in one place
(`darkroom.api.errors` for Cloudinary's HTTP statuses and wording, the console for its own
pages) by walking the class hierarchy, so no part below the edges knows about HTTP.

    DarkroomError                 an unexpected failure unless a subclass says more
    ├── Invalid                   malformed or disallowed input
    │   └── TooLarge              a byte, pixel or time limit was exceeded
    ├── NotAuthenticated          the caller did not prove who it is: bad signature,
    │                             unknown key, stale request, refused sign-in
    ├── Forbidden                 the caller is known, but a policy refuses the request
    ├── NotFound                  unknown cloud, asset, preset …
    ├── TimedOut                  the client stopped sending its request body
    ├── Conflict                  it already exists, or a concurrent change got there first
    ├── StillProcessing           being prepared (a long transcode); ask again shortly
    └── TooManyAttempts           a client locked out after repeated failures; retry later
"""

from __future__ import annotations

__all__ = ["DarkroomError", "Invalid", "TooLarge", "NotAuthenticated", "Forbidden", "NotFound", "Conflict"]


class DarkroomError(Exception):
    """An error with a public message (safe to show a client) and internal detail for logs."""

    def __init__(self, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        # Internal detail for logs only; never sent to a client.
        self.detail = detail


class Invalid(DarkroomError):
    """The request's input is malformed, unknown or not allowed."""


class TooLarge(Invalid):
    """A byte, pixel or time limit was exceeded."""


class NotAuthenticated(DarkroomError):
    """The caller's credentials are missing, wrong or stale."""


class Forbidden(DarkroomError):
    """The caller is known, but a policy refuses what it asked."""


class NotFound(DarkroomError):
    """The thing named does not exist."""


class TimedOut(DarkroomError):
    """Waited too long for the other side: the client stopped sending its request body."""


class Conflict(DarkroomError):
    """The thing already exists, or a concurrent change made the request fail; retrying may help."""


class StillProcessing(DarkroomError):
    """What was asked for is being prepared (a long video transcode) and will exist soon."""


class TooManyAttempts(DarkroomError):
    """Too many failed attempts from this client; `retry_after` seconds until it may try again."""

    def __init__(self, message: str, *, retry_after: int = 60) -> None:
        super().__init__(message)
        self.retry_after = retry_after
