"""Sorting and keyset pagination: ORDER BY lists, opaque cursors, and the "after this row" clause.

Keyset (not OFFSET) paging is what makes `next_cursor` stable: the cursor holds the sort key
values of the last row shown (plus its primary key as a tie-breaker), and the next page is
"rows strictly after that key". Rows inserted while a client pages never shift the pages
already served, so there are no duplicates or gaps; the cost of a page does not grow with
its depth. Pure: builds clauses and strings, runs nothing.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from darkroom.catalog.schema import assets
from darkroom.catalog.search.errors import SearchError
from darkroom.catalog.search.fields import SORTABLE

__all__ = ["SortKey", "sort_keys", "order_by", "after", "encode_cursor", "decode_cursor", "cursor_values", "cursor_total"]

# Nullable numeric columns sort as -1 when missing, so NULL ordering is the same on both databases.
_NULLABLE_NUMBERS = {"width", "height", "pixels", "duration", "aspect_ratio"}


@dataclass(frozen=True)
class SortKey:
    field: str
    descending: bool

    @property
    def expression(self) -> ColumnElement[Any]:
        column = assets.c[self.field]
        return sa.func.coalesce(column, -1) if self.field in _NULLABLE_NUMBERS else column


def sort_keys(requested: list[tuple[str, str]], default: tuple[str, str] = ("created_at", "desc")) -> list[SortKey]:
    """Validate `[(field, "asc"|"desc")]`; unknown fields are a 400 as Cloudinary answers them."""
    keys: list[SortKey] = []
    for field, direction in requested or [default]:
        if field not in SORTABLE:
            raise SearchError(f"Invalid sort_by field: {field}")
        if str(direction).lower() not in ("asc", "desc", "1", "-1"):
            raise SearchError(f"Invalid sort_by direction: {direction}")
        if all(k.field != field for k in keys):
            keys.append(SortKey(field, str(direction).lower() in ("desc", "-1")))
    return keys


def order_by(keys: list[SortKey]) -> list[ColumnElement[Any]]:
    """ORDER BY for the keys, ending with the primary key in the last key's direction (a total order)."""
    tie = keys[-1].descending
    clauses: list[ColumnElement[Any]] = [k.expression.desc() if k.descending else k.expression.asc() for k in keys]
    clauses.append(assets.c.id.desc() if tie else assets.c.id.asc())
    return clauses


def after(keys: list[SortKey], values: list[Any], last_id: int) -> ColumnElement[bool]:
    """Rows strictly after (values…, last_id) in `order_by(keys)` order.

    Expanded as (k1 ▷ v1) OR (k1 = v1 AND k2 ▷ v2) OR … so that mixed directions work on
    both databases (row-value comparison cannot mix them).
    """
    columns = [(k.expression, k.descending) for k in keys] + [(assets.c.id, keys[-1].descending)]
    bound = [*values, last_id]
    alternatives = []
    for index, (column, descending) in enumerate(columns):
        equal = [columns[j][0] == bound[j] for j in range(index)]
        beyond = column < bound[index] if descending else column > bound[index]
        alternatives.append(sa.and_(*equal, beyond))
    return sa.or_(*alternatives)


def cursor_values(keys: list[SortKey], row: Any) -> list[Any]:
    """The sort key values of a result row, as they go into a cursor."""
    out = []
    for key in keys:
        value = row[key.field]
        if key.field in _NULLABLE_NUMBERS and value is None:
            value = -1
        out.append(value)
    return out


def encode_cursor(keys: list[SortKey], values: list[Any], last_id: int, total: int | None = None) -> str:
    """An opaque, URL-safe token for "after this row"; it also pins the sort it belongs to.

    `total` (a search's total_count on its first page) rides along so later pages need not
    count again: counting is the one cost of a page that grows with the number of matches.
    """
    payload: dict[str, Any] = {"s": [[k.field, int(k.descending)] for k in keys], "v": [_plain(v) for v in values], "i": last_id}
    if total is not None:
        payload["n"] = total
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, keys: list[SortKey]) -> tuple[list[Any], int]:
    """The values and id an `encode_cursor` token holds; 400 if it is not one for this sort."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
        if payload["s"] != [[k.field, int(k.descending)] for k in keys] or len(payload["v"]) != len(keys):
            raise ValueError("cursor belongs to another sort")
        values = [_typed(k.field, v) for k, v in zip(keys, payload["v"])]
        return values, int(payload["i"])
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise SearchError("Invalid next_cursor", detail=str(exc)) from exc


def cursor_total(cursor: str) -> int | None:
    """The total_count an `encode_cursor` token carries, if any (the cursor is checked by decode_cursor)."""
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        total = payload.get("n") if isinstance(payload, dict) else None
    except (ValueError, binascii.Error):
        return None
    return total if isinstance(total, int) and total >= 0 else None


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return {"t": moment.astimezone(UTC).isoformat()}
    return value


def _typed(field: str, value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"t"}:
        return datetime.fromisoformat(value["t"])
    if field in ("created_at", "uploaded_at"):
        raise ValueError("expected a time")
    return value
