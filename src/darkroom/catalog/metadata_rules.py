"""Conditional metadata rules: which structured metadata field a value of another one enables.

A rule says: when `condition` holds on an asset's metadata values, apply `result` to the field
`metadata_field_id` — show it (`enable`), offer only some of its entries (`activate_values`),
fill in a value (`apply_value`) or make it mandatory (`set_mandatory`). The Admin API keeps
them (`/metadata_rules`) for the clients that read them, as Cloudinary does; a condition is
either one field's test (`populated`, `includes`, `equals`) or an `and`/`or` of conditions.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from darkroom.catalog.errors import duplicate_is_conflict
from darkroom.catalog.metadata_fields import MetadataFieldNotFound, fields_by_id
from darkroom.catalog.schema import metadata_rules
from darkroom.errors import Invalid, NotFound

__all__ = ["MetadataRuleNotFound", "add_rule", "delete_rule", "list_rules", "update_rule"]

STATES = ("active", "inactive")
FIELD_TESTS = ("populated", "includes", "equals")
RESULT_KEYS = ("enable", "activate_values", "apply_value", "set_mandatory")
MAX_CONDITION_DEPTH = 8  # and/or nesting


class MetadataRuleNotFound(NotFound):
    pass


def list_rules(engine: Engine, cloud: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(_select(cloud).order_by(metadata_rules.c.created_at, metadata_rules.c.external_id)).mappings()
        return [_json(dict(row)) for row in rows]


def add_rule(engine: Engine, cloud: str, body: Mapping[str, Any]) -> dict[str, Any]:
    external_id = str(body.get("external_id") or secrets.token_hex(32))
    with duplicate_is_conflict(f"Metadata rule {external_id} already exists"), engine.begin() as conn:
        row = {
            "cloud": cloud,
            "external_id": external_id,
            "name": _name(body.get("name")),
            "state": _state(body.get("state", "active")),
            "created_at": datetime.now(UTC),
            **_checked_logic(conn, cloud, body),
        }
        conn.execute(metadata_rules.insert().values(**row))
    return _json(row)


def update_rule(engine: Engine, cloud: str, external_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """Change what the body names; `external_id` in the body is ignored (the path names the rule)."""
    with engine.begin() as conn:
        current = _row(conn, cloud, external_id)
        changes: dict[str, Any] = _checked_logic(conn, cloud, {**current, **body})
        if "name" in body:
            changes["name"] = _name(body["name"])
        if "state" in body:
            changes["state"] = _state(body["state"])
        conn.execute(metadata_rules.update().where(_where(cloud, external_id)).values(**changes))
        return _json({**current, **changes})


def delete_rule(engine: Engine, cloud: str, external_id: str) -> None:
    with engine.begin() as conn:
        _row(conn, cloud, external_id)
        conn.execute(metadata_rules.delete().where(_where(cloud, external_id)))


def _checked_logic(conn: Connection, cloud: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """The target field, condition and result, each checked against the cloud's fields."""
    fields = fields_by_id(conn, cloud)
    target = body.get("metadata_field_id")
    if not target:
        raise Invalid("Missing required parameter - metadata_field_id")
    if str(target) not in fields:
        raise MetadataFieldNotFound(f"Metadata field {target} not found")
    condition, result = _object(body, "condition"), _object(body, "result")
    _check_condition(condition, fields, depth=0)
    _check_result(result)
    return {"metadata_field_id": str(target), "condition": condition, "result": result}


def _object(body: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = body.get(key)
    if value is None:
        raise Invalid(f"Missing required parameter - {key}")
    if not isinstance(value, Mapping) or not value:
        raise Invalid(f"Invalid {key} - expected an object")
    return dict(value)


def _check_condition(condition: Mapping[str, Any], fields: Mapping[str, Any], *, depth: int) -> None:
    if depth > MAX_CONDITION_DEPTH:
        raise Invalid("Invalid condition - nested too deeply")
    for junction in ("and", "or"):
        if junction in condition:
            parts = condition[junction]
            if not isinstance(parts, list) or not parts or not all(isinstance(part, Mapping) for part in parts):
                raise Invalid(f"Invalid condition - '{junction}' takes a list of conditions")
            for part in parts:
                _check_condition(part, fields, depth=depth + 1)
            return
    field = condition.get("metadata_field_id")
    if not field:
        raise Invalid("Invalid condition - missing metadata_field_id")
    if str(field) not in fields:
        raise MetadataFieldNotFound(f"Metadata field {field} not found")
    tests = [test for test in FIELD_TESTS if test in condition]
    if len(tests) != 1:
        raise Invalid(f"Invalid condition - expected exactly one of {', '.join(FIELD_TESTS)}")


def _check_result(result: Mapping[str, Any]) -> None:
    unknown = sorted(set(result) - set(RESULT_KEYS))
    if unknown:
        raise Invalid(f"Invalid result - unknown key {unknown[0]}; expected {', '.join(RESULT_KEYS)}")


def _name(value: Any) -> str:
    name = str(value or "").strip()
    if not name:
        raise Invalid("Missing required parameter - name")
    if len(name) > 255:
        raise Invalid("Invalid name - longer than 255 characters")
    return name


def _state(value: Any) -> str:
    if value not in STATES:
        raise Invalid(f"Invalid state - {value}; expected active or inactive")
    return str(value)


def _select(cloud: str) -> sa.Select[Any]:
    return sa.select(metadata_rules).where(metadata_rules.c.cloud == cloud)


def _where(cloud: str, external_id: str) -> sa.ColumnElement[bool]:
    return sa.and_(metadata_rules.c.cloud == cloud, metadata_rules.c.external_id == external_id)


def _row(conn: Connection, cloud: str, external_id: str) -> dict[str, Any]:
    row = conn.execute(_select(cloud).where(metadata_rules.c.external_id == external_id)).mappings().first()
    if row is None:
        raise MetadataRuleNotFound(f"Metadata rule {external_id} not found")
    return dict(row)


def _json(row: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("external_id", "metadata_field_id", "name", "condition", "result", "state")
    return {key: row[key] for key in keys}
