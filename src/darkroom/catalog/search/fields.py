"""Which fields an expression may name, and what kind of values each holds.

The kind decides what `:` means (a word inside the text, or the exact value), which
comparisons are allowed and how a value is read (number, size, date, ratio).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

__all__ = ["Kind", "FieldSpec", "FIELDS", "field_spec", "SORTABLE", "FOLDER_FIELDS", "folder_field_spec"]


class Kind(Enum):
    TEXT = "text"  # free text: `:` matches a word (token), `=` the whole value
    PATH = "path"  # folders: `:`/`=` exact; `a/b/*` = the folder and everything below it
    FIXED = "fixed"  # enumerated values (format, type…): `:` and `=` both exact
    NUMBER = "number"
    SIZE = "size"  # a number of bytes; `1m`, `500kb` allowed
    RATIO = "ratio"  # a number or "16:9"
    DATE = "date"
    TAGS = "tags"  # multi-valued: true when any tag matches
    CONTEXT = "context"  # context.KEY: a string value per key
    METADATA = "metadata"  # metadata.EXTERNAL_ID: string, number, date, enum id or set of ids
    MODERATION_KIND = "moderation_kind"


@dataclass(frozen=True)
class FieldSpec:
    name: str  # as written in expressions
    kind: Kind
    column: str | None  # the assets column it reads, if any
    key: str | None = None  # the KEY of context.KEY / metadata.KEY


_COLUMNS: dict[str, tuple[Kind, str | None]] = {
    "public_id": (Kind.TEXT, "public_id"),
    "filename": (Kind.TEXT, "filename"),
    "display_name": (Kind.TEXT, "display_name"),
    "folder": (Kind.PATH, "folder"),
    "asset_folder": (Kind.PATH, "asset_folder"),
    "resource_type": (Kind.FIXED, "resource_type"),
    "type": (Kind.FIXED, "type"),
    "format": (Kind.FIXED, "format"),
    "access_mode": (Kind.FIXED, "access_mode"),
    "status": (Kind.FIXED, "status"),
    "moderation_status": (Kind.FIXED, "moderation_status"),
    "moderation_kind": (Kind.MODERATION_KIND, "moderation_status"),
    "asset_id": (Kind.FIXED, "asset_id"),
    "etag": (Kind.FIXED, "etag"),
    "tags": (Kind.TAGS, None),
    "bytes": (Kind.SIZE, "bytes"),
    "width": (Kind.NUMBER, "width"),
    "height": (Kind.NUMBER, "height"),
    "pixels": (Kind.NUMBER, "pixels"),
    "duration": (Kind.NUMBER, "duration"),
    "pages": (Kind.NUMBER, "pages"),
    "aspect_ratio": (Kind.RATIO, "aspect_ratio"),
    "created_at": (Kind.DATE, "created_at"),
    "uploaded_at": (Kind.DATE, "uploaded_at"),
}

FIELDS: dict[str, FieldSpec] = {name: FieldSpec(name, kind, column) for name, (kind, column) in _COLUMNS.items()}

# Keys after `context.` / `metadata.`: letters, digits, `_` and `-` (external ids look like this).
_KEY = re.compile(r"^[A-Za-z0-9_\-]{1,255}$")

# Fields `sort_by` accepts, each an assets column.
SORTABLE = ("created_at", "uploaded_at", "public_id", "filename", "display_name", "bytes", "width", "height",
            "pixels", "duration", "aspect_ratio", "format", "resource_type", "type", "asset_folder", "folder")


# Folder search (`SearchFolders`) fields: name (last segment), path, external_id.
FOLDER_FIELDS: dict[str, FieldSpec] = {
    "name": FieldSpec("name", Kind.TEXT, None),
    "path": FieldSpec("path", Kind.PATH, None),
    "external_id": FieldSpec("external_id", Kind.FIXED, None),
    "created_at": FieldSpec("created_at", Kind.DATE, None),
}


def folder_field_spec(name: str) -> FieldSpec | None:
    return FOLDER_FIELDS.get(name)


def field_spec(name: str) -> FieldSpec | None:
    """The spec for `name`, including `context.KEY` and `metadata.KEY`; None if unknown."""
    if name in FIELDS:
        return FIELDS[name]
    prefix, _, key = name.partition(".")
    if prefix == "context" and _KEY.match(key):
        return FieldSpec(name, Kind.CONTEXT, "context", key)
    if prefix == "metadata" and _KEY.match(key):
        return FieldSpec(name, Kind.METADATA, "metadata", key)
    return None


_COMPARABLE = {Kind.NUMBER, Kind.SIZE, Kind.RATIO, Kind.DATE, Kind.METADATA}
_NO_WILDCARD = {Kind.NUMBER, Kind.SIZE, Kind.RATIO, Kind.DATE, Kind.MODERATION_KIND}


def takes_range(spec: FieldSpec) -> bool:
    """Numbers, dates and metadata values can be bounded by `[a TO b]`."""
    return spec.kind in _COMPARABLE


def problem_with(spec: FieldSpec, op: str, value_text: str, wildcard: bool) -> str | None:
    """Why `spec op value` cannot be searched (None when it can); the parser adds the position.

    `op` is one of `: = < <= > >=`, or `range` for a bound of `[a TO b]`.
    """
    from darkroom.catalog.search.values import parse_date, parse_number, parse_ratio, parse_size

    if op not in (":", "=") and spec.kind not in _COMPARABLE:
        return f"field '{spec.name}' cannot be compared with '{op}'" if op != "range" else \
            f"field '{spec.name}' does not take a range"
    if wildcard and spec.kind in _NO_WILDCARD:
        return f"field '{spec.name}' does not take a wildcard"
    if wildcard and op not in (":", "="):
        return "a wildcard cannot be compared"
    readers = {Kind.NUMBER: parse_number, Kind.SIZE: parse_size, Kind.RATIO: parse_ratio}
    if spec.kind in readers and readers[spec.kind](value_text) is None:
        return f"'{value_text}' is not a valid value for {spec.name}"
    if spec.kind is Kind.DATE:
        from datetime import UTC, datetime

        if parse_date(value_text, datetime(2000, 1, 1, tzinfo=UTC)) is None:
            return f"'{value_text}' is not a valid date for {spec.name}"
    return None
