"""Turning errors into responses, in one place.

A `DarkroomError` becomes Cloudinary's shape, `{"error": {"message": …}}`, with its status
and an `X-Cld-Error` header; anything else becomes a plain 500 whose details stay in the log.
"""

from __future__ import annotations

import logging
import re

import sqlalchemy as sa
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from darkroom.api.logs import current_request_id
from darkroom.errors import DarkroomError, TooManyAttempts

__all__ = ["error_response", "exception_handlers"]

log = logging.getLogger("darkroom.api")


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
    response = error_response(exc.status, exc.message)
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


async def _integrity_error(request: Request, exc: Exception) -> Response:
    """A unique index refused a write: two requests created the same thing at once (check-then-insert
    lost a race). The transaction rolled back, nothing is half-written: 409, as a plain duplicate is."""
    orig = getattr(exc, "orig", None)
    if getattr(orig, "sqlstate", None) == "23505" or "UNIQUE constraint failed" in str(orig):
        log.info("unique violation: %s", orig)
        return error_response(409, "Conflict: a concurrent request created the same item")
    return await _unexpected(request, exc)


exception_handlers = {
    DarkroomError: _darkroom_error,
    HTTPException: _http_error,
    sa.exc.IntegrityError: _integrity_error,
    Exception: _crashed,
}
