"""Notification triggers (the Admin API's `/triggers`): a webhook URL fired on an event type.

A trigger pairs one `event_type` (`upload`, `delete`, `rename`, `eager`, …, or `all`) with one
`uri`; an event of the cloud notifies every trigger of its type and of `all`
(`media.notifications`). At most MAX_PER_EVENT per event type, as Cloudinary allows.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from darkroom.catalog.db import as_utc
from darkroom.catalog.schema import notification_triggers as triggers
from darkroom.errors import Conflict, Invalid, NotFound

__all__ = ["MAX_PER_EVENT", "Trigger", "TriggerNotFound", "create_trigger", "delete_trigger", "list_triggers", "update_trigger", "uris_for_event"]

MAX_PER_EVENT = 30
MAX_URI_LENGTH = 2048
URI_TYPES = ("webhook",)  # "flow" and "poll" deliver inside Cloudinary's own services


class TriggerNotFound(NotFound):
    pass


@dataclass(frozen=True)
class Trigger:
    id: str
    event_type: str
    uri: str
    uri_type: str
    created_at: datetime
    updated_at: datetime


def checked_uri(uri: str) -> str:
    uri = uri.strip()
    if not uri.lower().startswith(("http://", "https://")) or len(uri) > MAX_URI_LENGTH or any(ord(ch) <= 32 for ch in uri):
        raise Invalid("Invalid uri - expected an http(s) URL")
    return uri


def create_trigger(engine: Engine, cloud: str, uri: str, event_type: str, uri_type: str | None = None) -> Trigger:
    uri, event_type, uri_type = checked_uri(uri), event_type.strip(), (uri_type or "webhook")
    if not event_type or len(event_type) > 64:
        raise Invalid("Invalid event_type")
    if uri_type not in URI_TYPES:
        raise Invalid(f"Invalid uri_type - {uri_type} is not supported here; use webhook")
    now = datetime.now(UTC)
    trigger_id = secrets.token_hex(16)
    with engine.begin() as conn:
        same_type = triggers.c.cloud == cloud, triggers.c.event_type == event_type
        uris = conn.execute(sa.select(triggers.c.uri).where(*same_type)).scalars().all()
        if uri in uris:
            raise Conflict(f"Trigger for {event_type} with uri {uri} already exists")
        if len(uris) >= MAX_PER_EVENT:
            raise Invalid(f"Too many triggers for {event_type} (maximum is {MAX_PER_EVENT})")
        conn.execute(
            sa.insert(triggers).values(
                id=trigger_id, cloud=cloud, event_type=event_type, uri=uri, uri_type=uri_type, created_at=now, updated_at=now
            )
        )
    return Trigger(trigger_id, event_type, uri, uri_type, now, now)


def list_triggers(engine: Engine, cloud: str, event_type: str | None = None) -> list[Trigger]:
    query = sa.select(triggers).where(triggers.c.cloud == cloud)
    if event_type:
        query = query.where(triggers.c.event_type == event_type)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(triggers.c.created_at, triggers.c.id)).all()
    return [Trigger(r.id, r.event_type, r.uri, r.uri_type, as_utc(r.created_at) or r.created_at, as_utc(r.updated_at) or r.updated_at) for r in rows]


def update_trigger(engine: Engine, cloud: str, trigger_id: str, new_uri: str) -> None:
    new_uri = checked_uri(new_uri)
    with engine.begin() as conn:
        changed = conn.execute(
            sa.update(triggers).where(triggers.c.cloud == cloud, triggers.c.id == trigger_id)
            .values(uri=new_uri, updated_at=datetime.now(UTC))
        ).rowcount
    if not changed:
        raise TriggerNotFound(f"Trigger {trigger_id} not found")


def delete_trigger(engine: Engine, cloud: str, trigger_id: str) -> None:
    with engine.begin() as conn:
        deleted = conn.execute(sa.delete(triggers).where(triggers.c.cloud == cloud, triggers.c.id == trigger_id)).rowcount
    if not deleted:
        raise TriggerNotFound(f"Trigger {trigger_id} not found")


def uris_for_event(engine: Engine, cloud: str, event_type: str) -> list[str]:
    """The webhook URLs of the cloud's triggers on `event_type` or on `all`."""
    with engine.connect() as conn:
        return list(
            conn.execute(
                sa.select(triggers.c.uri)
                .where(triggers.c.cloud == cloud, triggers.c.event_type.in_((event_type, "all")), triggers.c.uri_type == "webhook")
                .order_by(triggers.c.created_at)
            ).scalars()
        )
