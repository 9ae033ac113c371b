"""Rendering and guarding the console's pages: templates, security headers, the operator check.

Every console response goes through `page()` or `json_reply()` so that all of them carry
the same Content-Security-Policy (scripts, styles, images and fetches from darkroom only:
the console makes no request anywhere else) and are never cached by a shared cache.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anyio
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from darkroom.catalog.library import default_cloud
from darkroom.errors import Conflict, DarkroomError, Forbidden, Invalid, NotAuthenticated, NotFound, TimedOut, TooManyAttempts
from darkroom.media.services import Services, services_of
from darkroom.media.sessions import LOGIN_COOKIE, SESSION_COOKIE, SESSION_SECONDS, ConsoleAuth

__all__ = [
    "page", "json_reply", "error_reply", "operator_page", "operator_api", "Context", "safe_next",
    "signed_in_user", "set_session_cookie", "set_login_cookie", "clear_cookies",
]

# The status of each domain error in the console's JSON replies (the console is no Cloudinary
# endpoint, but its script reads the same codes); an error takes its nearest listed ancestor's.
_STATUS: dict[type[DarkroomError], int] = {
    Invalid: 400, NotAuthenticated: 401, Forbidden: 403, NotFound: 404, TimedOut: 408, Conflict: 409, TooManyAttempts: 429,
}

TEMPLATES = Path(__file__).parent / "templates"
_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))

SECURITY_HEADERS = {
    # 'unsafe-inline' for styles only: the widget injects its own <style> so that third-party
    # pages need nothing but the script. Scripts are never inline.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; "
        "font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class Context:
    """Who is asking and about which cloud; handed to every guarded handler."""

    def __init__(self, request: Request, services: Services, auth: ConsoleAuth, user: str, cloud: str | None) -> None:
        self.request = request
        self.services = services
        self.auth = auth
        self.user = user
        self.cloud = cloud

    @property
    def csrf(self) -> str:
        session_id = self.auth.session_id(self.request.cookies.get(SESSION_COOKIE))
        return self.auth.csrf_token(session_id) if session_id else ""

    def template_values(self, **values: Any) -> dict[str, Any]:
        return {"user": self.user, "cloud": self.cloud, "csrf": self.csrf, **values}


def page(template: str, values: dict[str, Any], status: int = 200) -> HTMLResponse:
    html = _env.get_template(template).render(**values)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def json_reply(body: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


def error_reply(message: str, status: int) -> JSONResponse:
    """Errors in Cloudinary's shape, as the rest of darkroom answers them."""
    return json_reply({"error": {"message": message}}, status)


def script_json(value: Any) -> str:
    """JSON safe to put inside <script type="application/json">."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


_env.filters["script_json"] = script_json


def safe_next(target: str | None) -> str:
    """Where to go after signing in: only paths on this site, never `//other.host`."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/console"


Handler = Callable[[Context], Awaitable[Response]]


async def signed_in_user(request: Request, presented_csrf: str | None = None) -> str | None:
    """The operator behind the request's session cookie (CSRF-checked for writes), or None."""
    auth = services_of(request).console_auth
    ask = functools.partial(auth.request_user, request.cookies, request.headers, request.method, presented_csrf=presented_csrf)
    return await anyio.to_thread.run_sync(ask)


def set_session_cookie(response: Response, request: Request, value: str) -> None:
    response.set_cookie(
        SESSION_COOKIE, value, max_age=SESSION_SECONDS, path="/", httponly=True,
        samesite="lax", secure=request.url.scheme == "https",
    )


def set_login_cookie(response: Response, request: Request, value: str) -> None:
    response.set_cookie(
        LOGIN_COOKIE, value, max_age=3600, path="/console", httponly=True,
        samesite="strict", secure=request.url.scheme == "https",
    )


def clear_cookies(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(LOGIN_COOKIE, path="/console")


async def _context(request: Request, presented_csrf: str | None = None) -> Context | None:
    services = services_of(request)
    auth = services.console_auth
    user = await signed_in_user(request, presented_csrf)
    if user is None:
        return None
    configured = services.settings.cloudinary_url.cloud_name if services.settings.cloudinary_url else None
    cloud = await services.db(default_cloud, configured)
    return Context(request, services, auth, user, cloud)


def _status_for(exc: DarkroomError) -> int:
    return next((_STATUS[cls] for cls in type(exc).__mro__ if cls in _STATUS), 500)


def operator_page(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """An HTML page for signed-in operators; others are sent to the sign-in form.

    For a POSTed form the CSRF token comes from the form's `csrf_token` field.
    """

    @functools.wraps(handler)
    async def guarded(request: Request) -> Response:
        presented = None
        if request.method == "POST":
            form = await request.form()
            presented = str(form.get("csrf_token") or "")
        ctx = await _context(request, presented)
        if ctx is None:
            if request.method != "GET":
                return page("login.html", {"error": "Your session has ended; sign in again.", "login_token": "", "next": "", "username": ""}, 403)
            target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""), safe="/")
            return RedirectResponse(f"/console/login?next={target}", status_code=303, headers=SECURITY_HEADERS)
        return await handler(ctx)

    return guarded


def operator_api(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """A JSON endpoint for signed-in operators (CSRF header required on writes); else 401."""

    @functools.wraps(handler)
    async def guarded(request: Request) -> Response:
        ctx = await _context(request)
        if ctx is None:
            return error_reply("Sign in to the console first (or the CSRF token is missing)", 401)
        if ctx.cloud is None:
            return error_reply("No cloud is configured yet; set CLOUDINARY_URL", 404)
        try:
            return await handler(ctx)
        except DarkroomError as exc:
            return error_reply(exc.message, _status_for(exc))

    return guarded
