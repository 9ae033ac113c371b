"""`GET /`: what this server is and where to go; `GET /version`: the version and build running.

The build is the git commit of the source tree the server runs from, looked up once (a
checkout's `make run`); an installed package, or a machine without git, reports "unknown".
Neither answer ever fails.
"""

from __future__ import annotations

import functools
import html
import subprocess
from importlib import metadata
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

import darkroom

__all__ = ["build", "routes", "version"]

UNKNOWN = "unknown"

# Where to go from `/`: path and what is there.
PLACES = (
    ("/console", "the web console: upload, browse and manage media"),
    ("/health", "liveness check"),
    ("/metrics", "Prometheus metrics"),
    ("/version", "version and build"),
)
# The documentation ships with the source, not as pages this server serves.
DOCS = (
    ("README.md", "setup, configuration, the command line, the SDK quickstart"),
    ("docs/console.md", "the console, its users and tokens"),
    ("docs/tinacms.md", "the TinaCMS media store"),
    ("docs/observability.md", "metrics, logs and request IDs, usage"),
)


@functools.cache
def version() -> str:
    """The installed distribution's version, or the package's own when run from a source tree."""
    try:
        return metadata.version("darkroom")
    except metadata.PackageNotFoundError:
        return darkroom.__version__


@functools.cache
def build() -> str:
    """The commit of the source tree darkroom runs from (`-dirty` with local changes), else "unknown"."""
    root = Path(darkroom.__file__).resolve().parent.parent.parent  # src/darkroom/__init__.py -> the checkout
    if not (root / "pyproject.toml").is_file() or not (root / ".git").exists():
        return UNKNOWN  # an installed package: whatever repository encloses it is not darkroom's
    try:
        described = subprocess.run(
            ["git", "-C", str(root), "describe", "--always", "--dirty", "--abbrev=12", "--match=none"],
            capture_output=True, text=True, timeout=5, check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return UNKNOWN
    return described.stdout.strip() or UNKNOWN


async def version_endpoint(_request: Request) -> Response:
    return JSONResponse({"name": "darkroom", "version": version(), "build": build()})


async def root(request: Request) -> Response:
    """JSON for programs, a page of links for a browser (one that prefers text/html)."""
    places = {path: what for path, what in PLACES}
    docs = {name: what for name, what in DOCS}
    if "text/html" not in request.headers.get("accept", ""):
        return JSONResponse({"name": "darkroom", "version": version(), "build": build(), "links": places, "docs": docs})
    items = "".join(f'<li><a href="{path}">{path}</a> — {html.escape(what)}</li>' for path, what in PLACES)
    doc_items = "".join(f"<li><code>{name}</code> — {html.escape(what)}</li>" for name, what in DOCS)
    page = (
        "<!doctype html><html lang=en><meta charset=utf-8><title>darkroom</title>"
        f"<h1>darkroom {html.escape(version())}</h1>"
        "<p>A self-hosted media platform that speaks Cloudinary's wire protocol.</p>"
        f"<ul>{items}</ul><p>Documentation, in the source tree:</p><ul>{doc_items}</ul>"
        f"<p><small>build {html.escape(build())}</small></p></html>"
    )
    return HTMLResponse(page)


routes = [
    Route("/", root, methods=["GET"]),
    Route("/version", version_endpoint, methods=["GET"]),
]
