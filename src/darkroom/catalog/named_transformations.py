"""Named transformations (`t_NAME`) and the list of transformations a cloud has used.

Names are stored without the `t_` prefix; delivery expands them, and applies strict
transformations, through `delivery_rules`. The transformation text is validated by the API layer
(the transformation language sits above the catalog), which passes it in canonical form.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from darkroom.catalog.errors import duplicate_is_conflict
from darkroom.catalog.schema import api_keys, assets, clouds, derived, named_transformations
from darkroom.config import Secret
from darkroom.errors import Conflict, Invalid, NotFound

__all__ = ["TransformationNotFound", "bare_name", "list_transformations", "find_named", "used_transformation",
           "create_named", "update_named", "delete_named", "DeliveryRules", "delivery_rules"]


class TransformationNotFound(NotFound):
    pass


def bare_name(name: str) -> str:
    """`t_thumb` and `thumb` both name the transformation stored as `thumb`."""
    return name[2:] if name.startswith("t_") else name


def _where(cloud: str, name: str) -> sa.ColumnElement[bool]:
    return sa.and_(named_transformations.c.cloud == cloud, named_transformations.c.name == bare_name(name))


def _used(engine: Engine, cloud: str) -> set[str]:
    owned = sa.select(assets.c.id).where(assets.c.cloud == cloud)
    with engine.connect() as conn:
        return {t for (t,) in conn.execute(sa.select(derived.c.transformation).where(derived.c.asset_pk.in_(owned)).distinct())}


def list_transformations(engine: Engine, cloud: str, named: bool | None) -> list[dict[str, Any]]:
    """Named ones (`t_NAME`) and, unless `named` is True, the unnamed ones derivatives were made with."""
    used = _used(engine, cloud)
    items: list[dict[str, Any]] = []
    if named is not False:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(named_transformations).where(named_transformations.c.cloud == cloud).order_by(named_transformations.c.name)
            ).mappings()
            for row in rows:
                items.append({"name": f"t_{row['name']}", "allowed_for_strict": bool(row["allowed_for_strict"]),
                              "used": f"t_{row['name']}" in used, "named": True})
    if named is not True:
        items += [{"name": t, "allowed_for_strict": False, "used": True, "named": False} for t in sorted(used)]
    return items


def _is_used(conn: Connection, cloud: str, text: str) -> bool:
    """Some derivative of the cloud was made with `text`: stops at the first, unlike `_used`."""
    owned = sa.select(assets.c.id).where(assets.c.cloud == cloud)
    statement = sa.select(derived.c.id).where(derived.c.transformation == text, derived.c.asset_pk.in_(owned)).limit(1)
    return conn.execute(statement).first() is not None


def find_named(engine: Engine, cloud: str, name: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(sa.select(named_transformations).where(_where(cloud, name))).mappings().first()
        if row is None:
            return None
        used = _is_used(conn, cloud, f"t_{row['name']}")
    return {"name": f"t_{row['name']}", "transformation": row["transformation"],
            "allowed_for_strict": bool(row["allowed_for_strict"]), "used": used, "named": True}


def used_transformation(engine: Engine, cloud: str, text: str) -> bool:
    with engine.connect() as conn:
        return _is_used(conn, cloud, text)


def create_named(engine: Engine, cloud: str, name: str, transformation: str, allowed_for_strict: bool = False) -> None:
    name = bare_name(name.strip())
    if not name or "/" in name or "," in name:
        raise Invalid(f"Invalid transformation name - {name}")
    duplicate = f"Transformation {name} already exists"
    with duplicate_is_conflict(duplicate), engine.begin() as conn:
        if conn.execute(sa.select(named_transformations.c.name).where(_where(cloud, name))).first():
            raise Conflict(duplicate)
        conn.execute(sa.insert(named_transformations).values(
            cloud=cloud, name=name, transformation=transformation, allowed_for_strict=allowed_for_strict, created_at=datetime.now(UTC)))


def update_named(engine: Engine, cloud: str, name: str, *, transformation: str | None, allowed_for_strict: bool | None) -> None:
    values: dict[str, Any] = {}
    if transformation is not None:
        values["transformation"] = transformation
    if allowed_for_strict is not None:
        values["allowed_for_strict"] = allowed_for_strict
    with engine.begin() as conn:
        if not conn.execute(sa.select(named_transformations.c.name).where(_where(cloud, name))).first():
            raise TransformationNotFound(f"Transformation {name} not found")
        if values:
            conn.execute(sa.update(named_transformations).where(_where(cloud, name)).values(**values))


def delete_named(engine: Engine, cloud: str, name: str) -> None:
    with engine.begin() as conn:
        if conn.execute(sa.delete(named_transformations).where(_where(cloud, name))).rowcount == 0:
            raise TransformationNotFound(f"Transformation {name} not found")


@dataclass(frozen=True)
class DeliveryRules:
    """What delivery needs from a cloud's settings to expand and admit a transformation URL."""

    strict: bool  # strict transformations: unsigned URLs render only names allowed below
    named: Mapping[str, str]  # name (without `t_`) → transformation text, for expanding `t_NAME`
    allowed_for_strict: frozenset[str]  # names that may render on demand while `strict` is on
    url_secrets: tuple[Secret, ...] = ()  # the API secrets of the cloud's active keys: `s--…--` may be signed by any


def delivery_rules(engine: Engine, cloud: str) -> DeliveryRules:
    """The cloud's strict flag, named transformations and URL-signing secrets, read on one connection."""
    with engine.connect() as conn:
        strict = conn.execute(sa.select(clouds.c.strict_transformations).where(clouds.c.name == cloud)).scalar()
        rows = conn.execute(
            sa.select(named_transformations.c.name, named_transformations.c.transformation, named_transformations.c.allowed_for_strict)
            .where(named_transformations.c.cloud == cloud)
        ).all()
        secrets = conn.execute(
            sa.select(api_keys.c.api_secret).where(api_keys.c.cloud == cloud, api_keys.c.revoked_at.is_(None))
        ).scalars().all()
    return DeliveryRules(
        strict=bool(strict),
        named={name: text for name, text, _ in rows},
        allowed_for_strict=frozenset(name for name, _, allowed in rows if allowed),
        url_secrets=tuple(Secret(secret) for secret in secrets),
    )
