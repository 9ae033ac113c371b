"""Turning errors into responses, in one place.

A `DarkroomError` becomes Cloudinary's shape, `{"error": {"message": …}}`, with the status
Cloudinary answers for that kind of error and an `X-Cld-Error` header; anything else becomes a
plain 500 whose details stay in the log. The parts below `api` raise domain errors (what went
wrong); `STATUS` below is the one table that says how Cloudinary answers each of them.
"""

from __future__ import annotations

import logging
import re

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from darkroom.api.logs import current_request_id
from darkroom.errors import (
    Conflict,
    DarkroomError,
    Forbidden,
    Invalid,
    NotAuthenticated,
    NotFound,
    StillProcessing,
    TimedOut,
    TooLarge,
    TooManyAttempts,
)
from darkroom.media.streaming import LadderPreparing

__all__ = ["STATUS", "RateLimited", "error_response", "exception_handlers", "status_for"]

log = logging.getLogger("darkroom.api")


class RateLimited(DarkroomError):
    """The caller spent its quota of Admin API calls for this window."""


# Each error class's status; an error takes the entry of its nearest listed ancestor.
STATUS: dict[type[DarkroomError], int] = {
    Invalid: 400,
    TooLarge: 400,  # Cloudinary reports byte and pixel limits as a bad request, not 413
    NotAuthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    TimedOut: 408,
    Conflict: 409,
    LadderPreparing: 423,  # Cloudinary's "being processed": players retry, then play
    RateLimited: 420,  # Cloudinary's own code for "Rate Limit Exceeded"
    StillProcessing: 423,  # Cloudinary's player shows "Video is being processed … Try again"
    TooManyAttempts: 429,  # a client's lock-out after repeated failures (Retry-After says until when)
}


def status_for(exc: DarkroomError) -> int:
    """The HTTP status Cloudinary answers with for `exc`: 500 for an error no entry covers."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


# Control characters (NUL, CR, LF, DEL …) are illegal in a header value; uvicorn would drop the connection.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def error_response(status: int, message: str) -> JSONResponse:
    # Header values must be latin-1 with no control characters; messages quote client input verbatim.
    header = _CONTROL.sub(" ", message).encode("latin-1", "replace").decode("latin-1")[:1000]
    return JSONResponse({"error": {"message": message}}, status_code=status, headers={"X-Cld-Error": header})


async def _darkroom_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DarkroomError)
    if exc.detail:
        log.info("%s: %s (%s)", type(exc).__name__, exc.message, exc.detail)
    response = error_response(status_for(exc), exc.message)
    if isinstance(exc, TooManyAttempts):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return error_response(exc.status_code, exc.detail or "Error")


async def _unexpected(_request: Request, exc: Exception) -> Response:
    log.exception("unexpected error", exc_info=exc)
    return error_response(500, "Internal server error")


async def _crashed(request: Request, exc: Exception) -> Response:
    """An error nothing else handled: Starlette answers it outside every middleware, telemetry's
    included, which left the request's ID set so that this answer and its log line carry it."""
    response = await _unexpected(request, exc)
    response.headers["X-Request-Id"] = current_request_id()
    return response


exception_handlers = {
    DarkroomError: _darkroom_error,
    HTTPException: _http_error,
    Exception: _crashed,
}
