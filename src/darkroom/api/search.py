"""Search API: `resources/search` (POST JSON or GET query), `folders/search`, and the signed cacheable GET.

The request is split into a `SearchQuery`; the catalog parses, compiles and runs it; this
module shapes Cloudinary's reply (`total_count`, `time`, `resources`, `next_cursor`,
`aggregations`). `Search.to_url()` links (reference §6.3) are verified here too: the
signature is sha256(ttl + b64 + api_secret) over any active key of the cloud.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import time
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from darkroom import catalog
from darkroom.api.admin_http import Admin, as_list, authorize, guard_routes, reply, search_item
from darkroom.media.services import services_of
from darkroom.auth import any_secret_equal
from darkroom.catalog import folders as folder_catalog
from darkroom.catalog.listing import max_results_from
from darkroom.catalog.search import SearchError, parse
from darkroom.catalog.search.evaluate import evaluate
from darkroom.catalog.search.fields import folder_field_spec
from darkroom.catalog.searching import DEFAULT_MAX_RESULTS, SearchQuery, run_search
from darkroom.errors import NotAuthenticated

__all__ = ["routes", "search_query"]


def _sort_by(value: Any) -> tuple[tuple[str, str], ...]:
    """`[{"created_at": "desc"}, …]` as the SDK sends it (also accepted as JSON text or `field:dir`)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (json.JSONDecodeError, RecursionError):
            value = [dict([value.split(":", 1)])] if ":" in value else [{value: "desc"}]
    if isinstance(value, dict):
        value = [value]
    if value is not None and not isinstance(value, list):  # a bare number, boolean …
        raise SearchError(f"Invalid sort_by: {value}")
    pairs: list[tuple[str, str]] = []
    for item in value or []:
        if isinstance(item, str):
            item = _json_object(item, "sort_by") if item.startswith("{") else {item: "desc"}
        if not isinstance(item, dict):
            raise SearchError(f"Invalid sort_by: {item}")
        pairs.extend((str(k), str(v)) for k, v in item.items())
    return tuple(pairs)


def _aggregate(value: Any) -> tuple[str | dict[str, Any], ...]:
    items = value if isinstance(value, list) else ([] if value in (None, "") else [value])
    out: list[str | dict[str, Any]] = []
    for item in items:
        if isinstance(item, str) and item.startswith("{"):
            item = _json_object(item, "aggregate")
        if isinstance(item, dict) and not _valid_ranges(item.get("ranges")):
            raise SearchError(f"Invalid aggregate ranges: {item.get('ranges')}")
        out.append(item)
    return tuple(out)


def _valid_ranges(ranges: Any) -> bool:
    """`[{"key": …, "from": n, "to": n}, …]` with numbers (or numeric text) as bounds."""
    if ranges in (None, ""):
        return True
    return isinstance(ranges, list) and all(
        isinstance(bucket, dict) and all(_is_number(bucket.get(end)) for end in ("from", "to")) for bucket in ranges
    )


def _is_number(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return False
    try:
        return math.isfinite(float(value))
    except (ValueError, OverflowError):
        return False


def _json_object(text: str, name: str) -> Any:
    """A JSON object sent as text inside a parameter; bad JSON is the client's error."""
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise SearchError(f"Invalid {name}: {text}") from None


def search_query(params: dict[str, Any]) -> SearchQuery:
    return SearchQuery(
        expression=str(params.get("expression") or ""),
        sort_by=_sort_by(params.get("sort_by")),
        max_results=max_results_from(params.get("max_results"), DEFAULT_MAX_RESULTS),
        next_cursor=params.get("next_cursor") or None,
        aggregate=_aggregate(params.get("aggregate")),
    )


async def _run(admin: Admin, params: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    result = await admin.db(run_search, search_query(params), datetime.now(UTC))
    with_fields = set(as_list(params.get("with_field")))
    body: dict[str, Any] = {
        "total_count": result.total_count,
        "time": round((time.perf_counter() - started) * 1000),
        "resources": [search_item(admin, a, with_fields, params.get("fields")) for a in result.assets],
    }
    if result.aggregations:
        body["aggregations"] = result.aggregations
    if result.next_cursor:
        body["next_cursor"] = result.next_cursor
    return body


async def search(request: Request) -> Response:
    admin = await authorize(request)
    return admin.reply(await _run(admin, admin.params))


async def search_folders(request: Request) -> Response:
    admin = await authorize(request)
    started = time.perf_counter()
    expression = str(admin.param("expression") or "")
    tree = parse(expression, fields=folder_field_spec) if expression.strip() else None
    everything = await admin.db(folder_catalog.all_folders)
    records = [{"name": f.name, "path": f.path, "external_id": f.external_id, "created_at": f.created_at, "folder": f} for f in everything]
    now = datetime.now(UTC)
    chosen = [r["folder"] for r in records if tree is None or evaluate(tree, r, ("name", "path"), now)]
    limit = max_results_from(admin.param("max_results"), DEFAULT_MAX_RESULTS)
    cursor = admin.param("next_cursor")
    start = int(cursor) if isinstance(cursor, str) and cursor.isdigit() else 0
    page = chosen[start : start + limit]
    body: dict[str, Any] = {
        "total_count": len(chosen),
        "time": round((time.perf_counter() - started) * 1000),
        "folders": [{"name": f.name, "path": f.path, "external_id": f.external_id,
                     "created_at": f.created_at.strftime("%Y-%m-%dT%H:%M:%SZ") if f.created_at else None} for f in page],
    }
    if start + limit < len(chosen):
        body["next_cursor"] = str(start + limit)
    return admin.reply(body)


async def signed_search(request: Request) -> Response:
    """GET `/{cloud}/search/{sig}/{ttl}/{b64}[/{next_cursor}]`: the URL `Search.to_url()` builds."""
    services = services_of(request)
    cloud = request.path_params["cloud"]
    signature, ttl, encoded = request.path_params["signature"], request.path_params["ttl"], request.path_params["query"]
    keys = [k for k in await services.db(catalog.list_keys, cloud) if k.active]
    expected = [hashlib.sha256(f"{ttl}{encoded}{k.api_secret}".encode()).hexdigest() for k in keys]
    if not any_secret_equal(signature, expected):  # tries every key, so timing does not tell which one signed
        raise NotAuthenticated("Invalid signature")
    try:
        params = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except (binascii.Error, json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise SearchError("Invalid search query") from exc
    if not isinstance(params, dict):
        raise SearchError("Invalid search query")
    if request.path_params.get("next_cursor"):
        params["next_cursor"] = request.path_params["next_cursor"]
    admin = Admin(request, services, cloud, params)
    response = reply(await _run(admin, params), cloud)
    response.headers["Cache-Control"] = f"public, max-age={int(ttl) if ttl.isdigit() else 300}"
    return response


routes = guard_routes([
    Route("/v1_1/{cloud}/resources/search", search, methods=["GET", "POST"]),
    Route("/v1_1/{cloud}/folders/search", search_folders, methods=["GET", "POST"]),
    Route("/{cloud}/search/{signature}/{ttl}/{query}", signed_search, methods=["GET"]),
    Route("/{cloud}/search/{signature}/{ttl}/{query}/{next_cursor}", signed_search, methods=["GET"]),
])
