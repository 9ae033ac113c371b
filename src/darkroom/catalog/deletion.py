"""The Admin API's deletes: by public IDs, asset IDs, prefix, tag or everything; originals or derivatives.

Each call is one transaction over the catalog and returns the blob keys it freed; the API
layer removes those blobs after the commit (a crash in between leaves an unreferenced blob,
never a record pointing at nothing). Bulk deletes stop after `BATCH` assets and hand back
a cursor, as Cloudinary does (`partial: true`, `next_cursor`).

The chosen assets are deleted together, set-based: a fixed handful of statements per call
(select, derivatives, tombstones when backed up, tags, assets), however many assets it holds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from darkroom.catalog.tombstones import backed_up_pks, keep_snapshots, kept_by_snapshots
from darkroom.catalog.schema import asset_tags, assets, derived
from darkroom.catalog.search.compiler import starts_with
from darkroom.errors import Invalid

__all__ = ["Deletion", "Target", "delete_by_public_ids", "delete_by_asset_ids", "delete_matching", "delete_derived_ids", "BATCH"]

BATCH = 1000  # assets per bulk delete call
MAX_IDS = 100  # explicit ids per call


@dataclass
class Deletion:
    deleted: dict[str, str] = field(default_factory=dict)  # id → "deleted" | "not_found"
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # id → {"original": 0|1, "derived": n}
    storage_keys: list[str] = field(default_factory=list)  # blobs to remove once committed
    partial: bool = False
    next_cursor: str | None = None


@dataclass(frozen=True)
class Target:
    """What to remove from each chosen asset."""

    keep_original: bool = False
    transformations: tuple[str, ...] = ()  # only these derivatives ("c_fill,w_100" or "c_fill,w_100/png")

    @property
    def originals(self) -> bool:
        return not self.keep_original and not self.transformations


def delete_by_public_ids(engine: Engine, cloud: str, resource_type: str, type_: str, public_ids: Sequence[str], target: Target) -> Deletion:
    _check_ids(public_ids, "public_ids")
    where = sa.and_(assets.c.cloud == cloud, assets.c.resource_type == resource_type, assets.c.type == type_,
                    assets.c.public_id.in_(list(public_ids)))
    return _delete_listed(engine, cloud, where, assets.c.public_id, public_ids, target)


def delete_by_asset_ids(engine: Engine, cloud: str, asset_ids: Sequence[str], target: Target) -> Deletion:
    _check_ids(asset_ids, "asset_ids")
    where = sa.and_(assets.c.cloud == cloud, assets.c.asset_id.in_(list(asset_ids)))
    return _delete_listed(engine, cloud, where, assets.c.asset_id, asset_ids, target)


def _check_ids(ids: Sequence[str], name: str) -> None:
    if not ids:
        raise Invalid(f"Missing required parameter - {name}")
    if len(ids) > MAX_IDS:
        raise Invalid(f"Too many {name} (maximum is {MAX_IDS})")


def _delete_listed(engine: Engine, cloud: str, where: sa.ColumnElement[bool], key: sa.Column[str], ids: Sequence[str],
                   target: Target) -> Deletion:
    outcome = Deletion(deleted={i: "not_found" for i in ids})
    with engine.begin() as conn:
        rows = conn.execute(sa.select(assets.c.id, key, assets.c.storage_key).where(where)).all()
        _delete_chosen(conn, cloud, outcome, [(pk, shown, storage_key) for pk, shown, storage_key in rows], target)
    return outcome


def delete_matching(
    engine: Engine,
    cloud: str,
    resource_type: str,
    type_: str | None,
    *,
    prefix: str | None = None,
    tag: str | None = None,
    everything: bool = False,
    target: Target = Target(),
    next_cursor: str | None = None,
) -> Deletion:
    """Bulk delete by prefix, tag or all, at most BATCH assets; the cursor resumes after the last one."""
    if prefix is None and tag is None and not everything:
        raise Invalid("Missing required parameter - public_ids, prefix or all")
    clauses = [assets.c.cloud == cloud, assets.c.resource_type == resource_type]
    if type_:
        clauses.append(assets.c.type == type_)
    if prefix is not None:
        clauses.append(starts_with(assets.c.public_id, prefix))
    if tag is not None:
        clauses.append(assets.c.id.in_(sa.select(asset_tags.c.asset_pk).where(asset_tags.c.tag == tag)))
    if next_cursor:
        clauses.append(assets.c.id > _cursor_id(next_cursor))
    outcome = Deletion()
    with engine.begin() as conn:
        statement = sa.select(assets.c.id, assets.c.public_id, assets.c.storage_key).where(*clauses)
        rows = conn.execute(statement.order_by(assets.c.id).limit(BATCH + 1)).all()
        _delete_chosen(conn, cloud, outcome, [(pk, public_id, storage_key) for pk, public_id, storage_key in rows[:BATCH]], target)
        if len(rows) > BATCH:
            outcome.partial = True
            outcome.next_cursor = f"{rows[BATCH - 1][0]:x}"
    return outcome


def _cursor_id(cursor: str) -> int:
    try:
        value = int(cursor, 16)
    except ValueError as exc:
        raise Invalid("Invalid next_cursor") from exc
    if not 0 <= value < _MAX_ID:  # not one of ours, and past what the database's integers hold
        raise Invalid("Invalid next_cursor")
    return value


def _delete_chosen(conn: Connection, cloud: str, outcome: Deletion, chosen: Sequence[tuple[int, str, str]], target: Target) -> None:
    """Remove the chosen derivatives of every (pk, shown id, original's storage key), and the originals
    unless kept; a backed-up asset's original blob stays and a tombstone records its row for `restore`."""
    if not chosen:
        return
    pks = [pk for pk, _, _ in chosen]
    backed_up = backed_up_pks(conn, cloud, pks) if target.originals else set()
    derivative_keys = _delete_derivatives(conn, pks, target.transformations)
    if target.originals:  # no transformation filter, so the derivatives above were all of them
        if backed_up:
            keep_snapshots(conn, sorted(backed_up), datetime.now(UTC))
        conn.execute(sa.delete(asset_tags).where(asset_tags.c.asset_pk.in_(pks)))
        conn.execute(sa.delete(assets).where(assets.c.id.in_(pks)))
    kept = kept_by_snapshots(conn, [storage_key for _, _, storage_key in chosen]) if target.originals else set()
    for pk, shown, storage_key in chosen:
        keys = derivative_keys.get(pk, [])
        outcome.storage_keys.extend(keys)
        if target.originals and storage_key not in kept:
            outcome.storage_keys.append(storage_key)
        outcome.deleted[shown] = "deleted"
        outcome.counts[shown] = {"original": int(target.originals), "derived": len(keys)}


def _delete_derivatives(conn: Connection, pks: Sequence[int], transformations: Sequence[str]) -> dict[int, list[str]]:
    """Delete the assets' derivatives (only those of `transformations` if any) in one statement;
    the storage keys of the deleted ones, by asset pk. RETURNING reports exactly the rows this
    statement removed, so a derivative recorded concurrently is either deleted and reported or kept."""
    chosen: sa.ColumnElement[bool] = derived.c.asset_pk.in_(pks)
    if transformations:
        chosen = sa.and_(chosen, sa.or_(*(_derived_matches(t) for t in transformations)))
    removed = conn.execute(sa.delete(derived).where(chosen).returning(derived.c.asset_pk, derived.c.storage_key))
    keys: dict[int, list[str]] = defaultdict(list)
    for pk, storage_key in removed:
        keys[pk].append(storage_key)
    return keys


def _derived_matches(transformation: str) -> sa.ColumnElement[bool]:
    """`c_fill,w_100` matches that transformation in any format; `c_fill,w_100/png` only as PNG."""
    text, slash, fmt = transformation.rpartition("/")
    if slash and fmt and "_" not in fmt and "," not in fmt:
        return sa.and_(derived.c.transformation == text, derived.c.format == fmt)
    return derived.c.transformation == transformation


def delete_derived_ids(engine: Engine, cloud: str, ids: Sequence[int | str]) -> Deletion:
    """`delete_derived_resources`: derivative ids as shown in resource details."""
    if not ids:
        raise Invalid("Missing required parameter - derived_resource_ids")
    wanted = {str(i): _int_id(i) for i in ids}
    outcome = Deletion(deleted={i: "not_found" for i in wanted})
    owned = sa.select(assets.c.id).where(assets.c.cloud == cloud)
    with engine.begin() as conn:
        rows = conn.execute(
            sa.select(derived.c.id, derived.c.storage_key).where(derived.c.id.in_(list(wanted.values())), derived.c.asset_pk.in_(owned))
        ).all()
        if rows:
            conn.execute(sa.delete(derived).where(derived.c.id.in_([r[0] for r in rows])))
    for pk, key in rows:
        outcome.deleted[str(pk)] = "deleted"
        outcome.storage_keys.append(key)
    return outcome


def _int_id(value: int | str) -> int:
    try:
        number = int(value)
    except ValueError:
        return -1
    return number if 0 <= number < _MAX_ID else -1  # ids beyond a 64-bit integer are simply not found


_MAX_ID = 2**63
