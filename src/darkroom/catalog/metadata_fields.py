"""Structured metadata: field definitions, their datasources, and validating asset values against them.

A field is typed (string, integer, date, enum, set), may be mandatory (then it needs a
default), may carry a validation rule, and enum/set fields list their allowed entries in a
datasource. Asset values are stored in `assets.metadata` as {external_id: value}: strings,
numbers, `YYYY-MM-DD` dates, an entry's external_id (enum) or a list of them (set).
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from darkroom.catalog.errors import duplicate_is_conflict
from darkroom.catalog.schema import metadata_fields
from darkroom.errors import Conflict, Invalid, NotFound

__all__ = [
    "FIELD_TYPES",
    "MetadataFieldNotFound",
    "list_fields",
    "get_field",
    "add_field",
    "update_field",
    "delete_field",
    "update_datasource",
    "delete_datasource_entries",
    "restore_datasource_entries",
    "reorder_datasource",
    "reorder_fields",
    "validated_values",
    "validate_asset_metadata",
    "fields_by_id",
]

FIELD_TYPES = ("string", "integer", "date", "enum", "set")
_EXTERNAL_ID = re.compile(r"^[A-Za-z0-9_\-]{1,255}$")


class MetadataFieldNotFound(NotFound):
    pass


def _now() -> datetime:
    return datetime.now(UTC)


def _json(row: Mapping[str, Any] | sa.RowMapping) -> dict[str, Any]:
    """A field as the Admin API shows it; deleted (inactive) datasource entries are hidden."""
    body: dict[str, Any] = {
        "type": row["type"],
        "external_id": row["external_id"],
        "label": row["label"],
        "mandatory": bool(row["mandatory"]),
        "default_value": row["default_value"],
        "validation": row["validation"],
        "default_disabled": bool(row["default_disabled"]),
        "restrictions": row["restrictions"] or {},
    }
    if row["type"] in ("enum", "set"):
        body["datasource"] = {"values": _active(row["datasource"])}
        # Kept beside the entries (the datasource column is a JSON object), shown as Cloudinary shows it.
        body["allow_dynamic_list_values"] = bool((row["datasource"] or {}).get("allow_dynamic_list_values", False))
    return body


def _active(datasource: Any) -> list[dict[str, Any]]:
    values = (datasource or {}).get("values", [])
    return [v for v in values if v.get("state", "active") == "active"]


def _select(cloud: str) -> sa.Select[Any]:
    return sa.select(metadata_fields).where(metadata_fields.c.cloud == cloud)


def list_fields(engine: Engine, cloud: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(_select(cloud).order_by(metadata_fields.c.position, metadata_fields.c.created_at)).mappings()
        return [_json(r) for r in rows]


def fields_by_id(conn: Connection, cloud: str) -> dict[str, dict[str, Any]]:
    """Every field's row of a cloud, keyed by external_id (for validating asset values)."""
    return {r["external_id"]: dict(r) for r in conn.execute(_select(cloud)).mappings()}


def _row(conn: Connection, cloud: str, external_id: str) -> dict[str, Any]:
    row = conn.execute(_select(cloud).where(metadata_fields.c.external_id == external_id)).mappings().first()
    if row is None:
        raise MetadataFieldNotFound(f"Metadata field {external_id} not found")
    return dict(row)


def get_field(engine: Engine, cloud: str, external_id: str) -> dict[str, Any]:
    with engine.connect() as conn:
        return _json(_row(conn, cloud, external_id))


def add_field(engine: Engine, cloud: str, body: Mapping[str, Any]) -> dict[str, Any]:
    kind = body.get("type")
    if kind not in FIELD_TYPES:
        raise Invalid(f"Invalid metadata field type - {kind}")
    label = str(body.get("label") or "").strip()
    if not label:
        raise Invalid("Missing required parameter - label")
    external_id = str(body.get("external_id") or _slug(label))
    if not _EXTERNAL_ID.match(external_id):
        raise Invalid(f"Invalid external_id - {external_id}")
    row = {
        "cloud": cloud,
        "external_id": external_id,
        "type": kind,
        "label": label,
        "mandatory": bool(body.get("mandatory", False)),
        "default_value": body.get("default_value"),
        "default_disabled": bool(body.get("default_disabled", False)),
        "validation": body.get("validation"),
        "restrictions": body.get("restrictions"),
        "datasource": _new_datasource(kind, body.get("datasource"), body.get("allow_dynamic_list_values")),
        "created_at": _now(),
    }
    _check_definition(row)
    duplicate = f"external id {external_id} already exists"
    with duplicate_is_conflict(duplicate), engine.begin() as conn:
        if conn.execute(_select(cloud).where(metadata_fields.c.external_id == external_id)).first():
            raise Conflict(duplicate)
        position = conn.execute(sa.select(sa.func.count()).where(metadata_fields.c.cloud == cloud)).scalar_one()
        conn.execute(sa.insert(metadata_fields).values(**row, position=position))
        return _json(_row(conn, cloud, external_id))


def _slug(label: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_\-]+", "_", label).strip("_")[:200]
    return slug or secrets.token_hex(8)


def _new_datasource(kind: str, datasource: Any, allow_dynamic: Any) -> dict[str, Any] | None:
    if kind not in ("enum", "set"):
        return None
    if not isinstance(datasource, Mapping) or not isinstance(datasource.get("values"), list):
        raise Invalid("Missing required parameter - datasource")
    return {"values": _entries([], datasource["values"]), "allow_dynamic_list_values": _flag(allow_dynamic)}


def _flag(value: Any) -> bool:
    """A boolean as JSON sends it, or as text (`"true"`, `"1"`)."""
    return value is True or str(value).lower() in ("true", "1")


def _entries(existing: list[dict[str, Any]], incoming: list[Any]) -> list[dict[str, Any]]:
    """Existing entries updated by external_id; new ones (with or without an id) appended, active."""
    out = [dict(e) for e in existing]
    index = {e["external_id"]: e for e in out}
    for item in incoming:
        if not isinstance(item, Mapping) or "value" not in item:
            raise Invalid("Datasource entries need a value")
        external_id = str(item.get("external_id") or secrets.token_hex(8))
        if external_id in index:
            index[external_id].update(value=item["value"], state="active")
            continue
        entry = {"external_id": external_id, "value": item["value"], "state": "active"}
        out.append(entry)
        index[external_id] = entry
    return out


def _check_definition(row: Mapping[str, Any]) -> None:
    """A mandatory field needs a default; a default must satisfy the field's own rules (Invalid otherwise)."""
    default = row["default_value"]
    if row["mandatory"] and default is None:
        raise Invalid("A mandatory field must have a default value")
    _check_rule(row.get("validation"))
    if default is not None:
        problem = _problem(row, default)
        if problem:
            raise Invalid(f"Invalid default value: {problem}")


def _check_rule(rule: Any, depth: int = 0) -> None:
    """A rule that could not be applied to a value later (`strlen` bounds that are not integers,
    `and` without a list of rules) is refused when it is defined, not when an upload meets it."""
    if not isinstance(rule, Mapping) or depth > 16:
        return
    if rule.get("type") == "and":
        if not isinstance(rule.get("rules") or [], list):
            raise Invalid("Invalid validation: and.rules must be a list")
        for inner in rule.get("rules") or []:
            _check_rule(inner, depth + 1)
    if rule.get("type") == "strlen":
        for end in ("min", "max"):
            bound = rule.get(end)
            try:
                if bound is not None:
                    int(bound)
            except (TypeError, ValueError):
                raise Invalid(f"Invalid validation: strlen.{end} must be an integer") from None


def update_field(engine: Engine, cloud: str, external_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
    with engine.begin() as conn:
        row = _row(conn, cloud, external_id)
        # `type` and `external_id` in the body are ignored, as Cloudinary ignores them: neither
        # can change once the field exists (the SDK forwards them when a caller passes a whole field).
        for name in ("label", "mandatory", "default_value", "default_disabled", "validation", "restrictions"):
            if name in body:
                row[name] = body[name]
        if row["type"] in ("enum", "set"):
            datasource = dict(row["datasource"] or {"values": []})
            if isinstance(body.get("datasource"), Mapping):
                datasource["values"] = _entries(datasource["values"], body["datasource"].get("values", []))
            if "allow_dynamic_list_values" in body:
                datasource["allow_dynamic_list_values"] = _flag(body["allow_dynamic_list_values"])
            row["datasource"] = datasource
        _check_definition(row)
        _save(conn, row)
        return _json(row)


def _save(conn: Connection, row: Mapping[str, Any]) -> None:
    values = {k: v for k, v in row.items() if k not in ("cloud", "external_id")}
    conn.execute(
        sa.update(metadata_fields)
        .where(metadata_fields.c.cloud == row["cloud"], metadata_fields.c.external_id == row["external_id"])
        .values(**values)
    )


def delete_field(engine: Engine, cloud: str, external_id: str) -> None:
    with engine.begin() as conn:
        _row(conn, cloud, external_id)
        conn.execute(
            sa.delete(metadata_fields).where(metadata_fields.c.cloud == cloud, metadata_fields.c.external_id == external_id)
        )


def _datasource_change(engine: Engine, cloud: str, external_id: str, change: Any) -> dict[str, Any]:
    """Apply `change(values) -> values` to an enum/set field's entries; returns the active ones."""
    with engine.begin() as conn:
        row = _row(conn, cloud, external_id)
        if row["type"] not in ("enum", "set"):
            raise Invalid(f"Metadata field {external_id} has no datasource")
        row["datasource"] = {**row["datasource"], "values": change([dict(v) for v in row["datasource"]["values"]])}
        _save(conn, row)
        return {"values": _active(row["datasource"])}


def update_datasource(engine: Engine, cloud: str, external_id: str, values: list[Any]) -> dict[str, Any]:
    return _datasource_change(engine, cloud, external_id, lambda current: _entries(current, values))


def delete_datasource_entries(engine: Engine, cloud: str, external_id: str, entry_ids: list[str]) -> dict[str, Any]:
    return _datasource_change(engine, cloud, external_id, lambda current: _set_state(current, entry_ids, "inactive"))


def restore_datasource_entries(engine: Engine, cloud: str, external_id: str, entry_ids: list[str]) -> dict[str, Any]:
    return _datasource_change(engine, cloud, external_id, lambda current: _set_state(current, entry_ids, "active"))


def _set_state(values: list[dict[str, Any]], entry_ids: list[str], state: str) -> list[dict[str, Any]]:
    for value in values:
        if value["external_id"] in entry_ids:
            value["state"] = state
    return values


def reorder_datasource(engine: Engine, cloud: str, external_id: str, order_by: str, direction: str | None) -> dict[str, Any]:
    if order_by != "value":
        raise Invalid(f"Invalid order_by - {order_by}")
    descending = (direction or "asc").lower() == "desc"
    return _datasource_change(
        engine, cloud, external_id, lambda current: sorted(current, key=lambda v: str(v["value"]), reverse=descending)
    )


def reorder_fields(engine: Engine, cloud: str, order_by: str, direction: str | None) -> list[dict[str, Any]]:
    if order_by not in ("label", "external_id", "created_at"):
        raise Invalid(f"Invalid order_by - {order_by}")
    descending = (direction or "asc").lower() == "desc"
    with engine.begin() as conn:
        rows = [dict(r) for r in conn.execute(_select(cloud)).mappings()]
        rows.sort(key=lambda r: r[order_by] if order_by != "created_at" else r["created_at"].isoformat(), reverse=descending)
        for position, row in enumerate(rows):
            row["position"] = position
            _save(conn, row)
    return [_json(r) for r in rows]


# -- asset values ---------------------------------------------------------------------------


def validated_values(
    conn: Connection,
    cloud: str,
    current: Mapping[str, Any],
    incoming: Mapping[str, Any],
    *,
    clear_invalid: bool = False,
    fields: Mapping[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """`current` with `incoming` applied: typed, checked, empty values clearing a field.

    Unknown fields and invalid values are Invalid, naming the field, unless `clear_invalid`
    drops them instead (Cloudinary's behaviour). `fields` (from `fields_by_id`) saves
    reading the definitions again when many assets are checked in one transaction.
    """
    if fields is None:
        fields = fields_by_id(conn, cloud)
    merged = dict(current)
    for external_id, raw in incoming.items():
        field = fields.get(external_id)
        if field is None:
            if clear_invalid:
                continue
            raise Invalid(f"Metadata field {external_id} does not exist")
        if raw in ("", None, []):
            merged.pop(external_id, None)
            continue
        value = _typed(field, raw)
        problem = _problem(field, value)
        if problem:
            if clear_invalid:
                merged.pop(external_id, None)
                continue
            raise Invalid(f"Metadata field {external_id}: {problem}")
        merged[external_id] = value
    return merged


def validate_asset_metadata(
    engine: Engine, cloud: str, incoming: Mapping[str, Any], current: Mapping[str, Any] | None = None, *, clear_invalid: bool = False
) -> dict[str, Any]:
    """For the Upload API (`metadata` on upload/explicit): `incoming` checked and merged into `current`.

    Same rules and wording as `update`; raises Invalid naming the field.
    """
    with engine.connect() as conn:
        fields = fields_by_id(conn, cloud)
        merged = validated_values(conn, cloud, current or {}, incoming, clear_invalid=clear_invalid, fields=fields)
        if current is None:
            merged = {**_defaults(fields), **merged}
        return merged


def _defaults(fields: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """What a new asset gets for the fields its upload leaves out: each field's `default_value`
    (unless `default_disabled`), as Cloudinary applies defaults when an asset is uploaded."""
    return {external_id: field["default_value"] for external_id, field in fields.items()
            if field["default_value"] not in (None, "", []) and not field["default_disabled"]}


def _typed(field: Mapping[str, Any], raw: Any) -> Any:
    """Values arrive as strings in `k=v|…` (sets as JSON arrays); turn them into the stored type."""
    kind = field["type"]
    if kind == "integer" and isinstance(raw, str):
        try:
            return int(raw)
        except ValueError:
            return raw
    if kind == "set" and isinstance(raw, str):
        try:
            decoded = json.loads(raw) if raw.startswith("[") else [raw]
        except json.JSONDecodeError:
            return raw
        return decoded
    return raw


def _problem(field: Mapping[str, Any], value: Any) -> str | None:
    """Why `value` does not fit the field (type, datasource, validation rule), or None."""
    kind = field["type"]
    if kind == "string" and not isinstance(value, str):
        return "value must be a string"
    if kind == "integer" and (isinstance(value, bool) or not isinstance(value, int)):
        return f"value {value!r} is not a valid integer"
    if kind == "date" and not _is_date(value):
        return f"value {value!r} is not a valid date (YYYY-MM-DD)"
    if kind in ("enum", "set"):
        allowed = {v["external_id"] for v in _active(field["datasource"])}
        chosen = value if kind == "set" else [value]
        if kind == "set" and not isinstance(value, list):
            return "value must be a list of datasource external ids"
        missing = [v for v in chosen if isinstance(v, (list, dict)) or v not in allowed]  # a list or object is no entry
        if missing:
            return f"value {missing[0]!r} is not an allowed datasource entry"
    return _rule_problem(field.get("validation"), value)


def _is_date(value: Any) -> bool:
    try:
        date.fromisoformat(str(value))
    except ValueError:
        return False
    return bool(re.match(r"^\d{4}-\d{2}-\d{2}$", str(value)))


def _rule_problem(rule: Any, value: Any) -> str | None:
    if not isinstance(rule, Mapping):
        return None
    kind = rule.get("type")
    if kind == "and":
        for inner in rule.get("rules") or []:
            problem = _rule_problem(inner, value)
            if problem:
                return problem
        return None
    if kind == "strlen":
        length = len(str(value))
        if rule.get("min") is not None and length < int(rule["min"]):
            return f"value is shorter than {rule['min']} characters"
        if rule.get("max") is not None and length > int(rule["max"]):
            return f"value is longer than {rule['max']} characters"
        return None
    if kind in ("greater_than", "less_than"):
        return _bound_problem(kind, rule.get("value"), bool(rule.get("equals")), value)
    return None


def _bound_problem(kind: str, bound: Any, equals: bool, value: Any) -> str | None:
    try:
        ok = (value > bound or (equals and value == bound)) if kind == "greater_than" else (value < bound or (equals and value == bound))
    except TypeError:
        return f"value {value!r} cannot be compared with {bound!r}"
    if ok:
        return None
    word = "greater than" if kind == "greater_than" else "less than"
    return f"value {value!r} must be {word}{' or equal to' if equals else ''} {bound!r}"
