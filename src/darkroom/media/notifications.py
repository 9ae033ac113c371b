"""Webhooks: Cloudinary's notifications, signed and delivered by a job (retried with back-off).

Where a notification goes (reference video §5.3): the call's own `notification_url` (or its
upload preset's) when it has one; otherwise the cloud's `notification_url` setting and its
triggers on the event type (`catalog.triggers`). The body is JSON; `X-Cld-Timestamp` and
`X-Cld-Signature` = hex(sha1(body + timestamp + api_secret)) — sha256 when the cloud's
`signature_algorithm` setting says so — are what the SDKs' `verify_notification_signature`
checks. The secret is looked up when the job runs (it never sits in the journal), and the
timestamp is the delivery's, so a late retry is not refused as stale. Deliveries go through
the same address rules as remote fetches (`media.sources`).
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from datetime import UTC, datetime
from typing import Any

from darkroom import catalog
from darkroom.auth.signing import notification_signature
from darkroom.catalog import ApiKey, Asset
from darkroom.catalog.cloud_settings import cloud_settings
from darkroom.catalog.triggers import uris_for_event
from darkroom.errors import DarkroomError
from darkroom.media.services import Services
from darkroom.media.sources import post_checked
from darkroom.media.tasks import job_handler

__all__ = ["announce", "asset_ref", "context_changed_body", "notify", "notify_event", "renamed_body", "tags_changed_body"]

log = logging.getLogger("darkroom.notifications")

JOB = "webhook"
ALGORITHMS = ("sha1", "sha256")
MAX_URL_LENGTH = 2048


class WebhookRefused(DarkroomError):
    """The receiver answered something other than 2xx: the delivery is retried."""


async def notify(services: Services, cloud: str, url: str, payload: dict[str, Any], *, api_key: str | None = None) -> str:
    """Enqueue one signed delivery of `payload` to `url`; `api_key` names the key whose secret
    signs (the caller's), else the cloud's first active key does. Returns the job id."""
    return await services.jobs.enqueue(JOB, {"cloud": cloud, "url": url, "body": payload, "api_key": api_key})


async def notify_event(
    services: Services, cloud: str, notification_type: str, body: dict[str, Any], *, url: str | None = None, api_key: str | None = None
) -> None:
    """Send the `notification_type` event to the call's `url`, or else to the cloud's URL and
    triggers; nothing when there is none."""
    targets = [url] if url else await _cloud_targets(services, cloud, notification_type)
    targets = [target for target in targets if _is_webhook_url(target)]
    if not targets:
        return
    now = datetime.now(UTC)
    payload = {
        "notification_type": notification_type,
        **body,
        "timestamp": now.isoformat(timespec="seconds"),
        "request_id": secrets.token_hex(16),
        "notification_context": {
            "triggered_at": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "triggered_by": {"source": "api", "id": api_key or ""},
        },
    }
    for target in dict.fromkeys(targets):  # one delivery per URL, in order
        await notify(services, cloud, target, payload, api_key=api_key)


async def announce(
    services: Services, cloud: str, notification_type: str, body: dict[str, Any], *, url: str | None = None, api_key: str | None = None
) -> None:
    """`notify_event` after a change was committed and answered: a failure to enqueue (the
    database is down) is logged, never turned into an error for a request that succeeded."""
    try:
        await notify_event(services, cloud, notification_type, body, url=url, api_key=api_key)
    except Exception:  # noqa: BLE001 - see the docstring
        log.warning("%s notification for cloud %s not enqueued", notification_type, cloud, exc_info=True)


async def _cloud_targets(services: Services, cloud: str, notification_type: str) -> list[str]:
    settings = await services.db(cloud_settings, cloud)
    configured = settings.get("notification_url")
    targets = [configured] if isinstance(configured, str) and configured else []
    return targets + await services.db(uris_for_event, cloud, notification_type)


def _is_webhook_url(url: str) -> bool:
    """An http(s) URL of a sane length; anything else (a client's typo) is not worth five
    failing deliveries."""
    if url.lower().startswith(("http://", "https://")) and len(url) <= MAX_URL_LENGTH:
        return True
    log.info("notification URL ignored (not an http(s) URL): %.80s", url)
    return False


def asset_ref(asset: Asset) -> dict[str, Any]:
    """An asset as the delete, rename and tags notifications list it."""
    return {
        "resource_type": asset.resource_type, "type": asset.type, "asset_id": asset.asset_id, "public_id": asset.public_id,
        "version": asset.version, "asset_folder": asset.asset_folder, "display_name": asset.display_name,
    }


def renamed_body(asset: Asset, from_public_id: str) -> dict[str, Any]:
    """The `rename` notification's body: the asset now, and where it came from."""
    ref = asset_ref(asset)
    return {**ref, "from_public_id": from_public_id, "to_public_id": ref.pop("public_id")}


def tags_changed_body(public_ids: list[str], resource_type: str, type_: str, command: str, tags: list[str]) -> dict[str, Any]:
    """`resource_tags_changed`: each asset's `added`/`removed`, as far as the command says (a
    replace does not list the tags it dropped)."""
    added = tags if command in ("add", "replace", "set_exclusive") else []
    removed = tags if command == "remove" else []
    resources = [{"public_id": p, "resource_type": resource_type, "type": type_, "added": added, "removed": removed} for p in public_ids]
    return {"source": "api", "resources": resources}


def context_changed_body(public_ids: list[str], resource_type: str, type_: str, command: str, values: dict[str, str]) -> dict[str, Any]:
    """`resource_context_changed`: resources by public ID with what was `added` (a removal
    does not list the keys it dropped)."""
    changed = {"added": dict(values) if command == "add" else {}, "removed": [], "updated": {}}
    return {"source": "api", "resources": {p: {**changed, "resource_type": resource_type, "type": type_} for p in public_ids}}


@job_handler(JOB)
async def deliver(services: Services, job: dict[str, Any]) -> None:
    cloud, url = str(job["cloud"]), str(job["url"])
    key = await _signing_key(services, cloud, job.get("api_key"))
    if key is None:
        log.warning("notification to %s not sent: cloud %s has no active key to sign it", url, cloud)
        return
    algorithm = (await services.db(cloud_settings, cloud)).get("signature_algorithm", "sha1")
    body = json.dumps({**job["body"], "api_key": key.api_key, "signature_key": key.api_key}).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "X-Cld-Timestamp": str(timestamp),
        "X-Cld-Signature": notification_signature(body, timestamp, key.api_secret, algorithm=algorithm if algorithm in ALGORITHMS else "sha1"),
    }
    settings = services.settings
    status = await post_checked(url, body, headers, timeout=settings.fetch_timeout, allow=settings.fetch_allow)
    if not 200 <= status < 300:
        raise WebhookRefused(f"{url} answered {status}")


async def _signing_key(services: Services, cloud: str, api_key: Any) -> ApiKey | None:
    if isinstance(api_key, str) and api_key:
        key = await services.db(catalog.find_key, api_key)
        if key is not None and key.active and key.cloud == cloud:
            return key
    return next((key for key in await services.db(catalog.list_keys, cloud) if key.active), None)
