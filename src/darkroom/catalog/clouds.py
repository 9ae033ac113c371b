"""Clouds (tenants), their API keys, upload presets and signing policies, as the request path needs them."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from darkroom.catalog.errors import CloudNotFound, duplicate_is_conflict
from darkroom.catalog.presets import get_preset
from darkroom.catalog.schema import api_keys, clouds, signing_policies
from darkroom.config import Secret
from darkroom.errors import Conflict

__all__ = [
    "ApiKey",
    "UploadPreset",
    "SigningPolicy",
    "ensure_cloud",
    "cloud_exists",
    "create_key",
    "upsert_key",
    "find_key",
    "list_keys",
    "revoke_key",
    "find_upload_preset",
    "console_signing_policies",
    "create_signing_policy",
    "find_policy_by_token",
    "list_signing_policies",
    "set_strict_transformations",
]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ApiKey:
    api_key: str
    cloud: str
    api_secret: Secret
    label: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class UploadPreset:
    name: str
    unsigned: bool
    disallow_public_id: bool
    settings: dict[str, Any]


@dataclass(frozen=True)
class SigningPolicy:
    """Who may ask `/api/sign` for a signature, and for which parameters."""

    cloud: str
    name: str
    allow_console: bool
    allowed_params: tuple[str, ...]  # parameter names that may appear in paramsToSign
    folder_prefix: str  # "" = any folder; else `folder` (and public_id paths) must start with it
    allowed_presets: tuple[str, ...]  # () = no preset restriction
    max_skew_seconds: int  # how far paramsToSign.timestamp may be from now
    api_key: str | None


def ensure_cloud(engine: Engine, name: str) -> None:
    try:
        with duplicate_is_conflict(), engine.begin() as conn:
            if not _cloud_exists(conn, name):
                conn.execute(sa.insert(clouds).values(name=name, created_at=utcnow(), strict_transformations=False, settings={}))
    except Conflict:
        if not cloud_exists(engine, name):
            raise  # some other duplicate
        # else: a server starting at the same time created it (a cluster's nodes start together)


def cloud_exists(engine: Engine, name: str) -> bool:
    with engine.connect() as conn:
        return _cloud_exists(conn, name)


def _cloud_exists(conn: Connection, name: str) -> bool:
    return conn.execute(sa.select(clouds.c.name).where(clouds.c.name == name)).first() is not None


def create_key(engine: Engine, cloud: str, label: str = "") -> ApiKey:
    """A new key with a random secret; the caller shows the secret once."""
    api_key = str(secrets.randbelow(9 * 10**14) + 10**14)  # 15 digits, like Cloudinary's
    return upsert_key(engine, cloud, api_key, secrets.token_urlsafe(20), label)


def upsert_key(engine: Engine, cloud: str, api_key: str, api_secret: str, label: str = "") -> ApiKey:
    """Create the key, or reset its secret and un-revoke it (used for CLOUDINARY_URL at start-up)."""
    ensure_cloud(engine, cloud)
    try:
        _upsert_key(engine, cloud, api_key, api_secret, label)
    except Conflict:
        _upsert_key(engine, cloud, api_key, api_secret, label)  # inserted meanwhile by a server starting too: now an update
    key = find_key(engine, api_key)
    assert key is not None
    return key


def _upsert_key(engine: Engine, cloud: str, api_key: str, api_secret: str, label: str) -> None:
    with duplicate_is_conflict(), engine.begin() as conn:
        existing = conn.execute(sa.select(api_keys.c.cloud).where(api_keys.c.api_key == api_key)).first()
        if existing is None:
            conn.execute(
                sa.insert(api_keys).values(
                    api_key=api_key, cloud=cloud, api_secret=api_secret, label=label, created_at=utcnow(), revoked_at=None
                )
            )
        else:
            conn.execute(
                sa.update(api_keys)
                .where(api_keys.c.api_key == api_key)
                .values(cloud=cloud, api_secret=api_secret, revoked_at=None)
            )


def find_key(engine: Engine, api_key: str) -> ApiKey | None:
    with engine.connect() as conn:
        row = conn.execute(sa.select(api_keys).where(api_keys.c.api_key == api_key)).mappings().first()
    return _key_from_row(row) if row else None


def first_active_key(engine: Engine) -> ApiKey | None:
    """The oldest key not revoked, of any cloud (what `darkroom serve` announces)."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(api_keys).where(api_keys.c.revoked_at.is_(None)).order_by(api_keys.c.created_at).limit(1)
        ).mappings().first()
    return _key_from_row(row) if row else None


def list_keys(engine: Engine, cloud: str) -> list[ApiKey]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(api_keys).where(api_keys.c.cloud == cloud).order_by(api_keys.c.created_at)).mappings()
        return [_key_from_row(row) for row in rows]


def revoke_key(engine: Engine, api_key: str) -> bool:
    with engine.begin() as conn:
        result = conn.execute(
            sa.update(api_keys).where(api_keys.c.api_key == api_key, api_keys.c.revoked_at.is_(None)).values(revoked_at=utcnow())
        )
    return result.rowcount > 0


def _key_from_row(row: Any) -> ApiKey:
    return ApiKey(row["api_key"], row["cloud"], Secret(row["api_secret"]), row["label"], row["created_at"], row["revoked_at"])


def find_upload_preset(engine: Engine, cloud: str, name: str) -> UploadPreset:
    """The preset as the Upload API applies it (the Admin API's row, typed)."""
    preset = get_preset(engine, cloud, name)  # PresetNotFound if there is none
    return UploadPreset(preset["name"], preset["unsigned"], preset["disallow_public_id"], preset["settings"])


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_signing_policy(
    engine: Engine,
    cloud: str,
    name: str,
    *,
    allowed_params: list[str],
    folder_prefix: str = "",
    allowed_presets: list[str] | None = None,
    max_skew_seconds: int = 300,
    allow_console: bool = False,
    issue_token: bool = True,
) -> tuple[SigningPolicy, str | None]:
    """Store a policy; returns it with its bearer token (shown once, only its hash is kept)."""
    if not cloud_exists(engine, cloud):
        raise CloudNotFound(f"Unknown cloud: {cloud}")
    token = "drs_" + secrets.token_urlsafe(32) if issue_token else None
    with duplicate_is_conflict(), engine.begin() as conn:
        conn.execute(sa.delete(signing_policies).where(signing_policies.c.cloud == cloud, signing_policies.c.name == name))
        conn.execute(
            sa.insert(signing_policies).values(
                cloud=cloud,
                name=name,
                token_hash=token_hash(token) if token else None,
                allow_console=allow_console,
                allowed_params=sorted(set(allowed_params)),
                folder_prefix=folder_prefix,
                allowed_presets=sorted(set(allowed_presets or [])),
                max_skew_seconds=max_skew_seconds,
                created_at=utcnow(),
            )
        )
    policy = _policies(engine, signing_policies.c.name == name, signing_policies.c.cloud == cloud)[0]
    return policy, token


def find_policy_by_token(engine: Engine, token: str) -> SigningPolicy | None:
    found = _policies(engine, signing_policies.c.token_hash == token_hash(token))
    return found[0] if found else None


def list_signing_policies(engine: Engine, cloud: str) -> list[SigningPolicy]:
    return _policies(engine, signing_policies.c.cloud == cloud)


def console_signing_policies(engine: Engine) -> list[SigningPolicy]:
    """Policies that admit signed-in console operators, in every cloud."""
    return _policies(engine, signing_policies.c.allow_console.is_(True))


def _policies(engine: Engine, *where: Any) -> list[SigningPolicy]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(signing_policies).where(*where).order_by(signing_policies.c.name)).mappings()
        return [
            SigningPolicy(
                row["cloud"],
                row["name"],
                bool(row["allow_console"]),
                tuple(row["allowed_params"] or ()),
                row["folder_prefix"],
                tuple(row["allowed_presets"] or ()),
                row["max_skew_seconds"],
                row["api_key"],
            )
            for row in rows
        ]


def set_strict_transformations(engine: Engine, cloud: str, strict: bool) -> None:
    with engine.begin() as conn:
        if conn.execute(sa.update(clouds).where(clouds.c.name == cloud).values(strict_transformations=strict)).rowcount == 0:
            raise CloudNotFound(f"Unknown cloud: {cloud}")
