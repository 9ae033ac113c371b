"""The metadata database's tables (SQLAlchemy Core), one definition for SQLite and PostgreSQL.

Alembic migrations in `catalog/migrations` create exactly these; a test checks that the
migrated database matches this metadata.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.engine import Connection

metadata = MetaData()

clouds = Table(
    "clouds",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # When on, only signed URLs or allowed named transformations may render new derivatives.
    Column("strict_transformations", Boolean, nullable=False, default=False),
    # Cloud-wide settings that have no column of their own (JSON object).
    Column("settings", JSON, nullable=False, default=dict),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("api_key", String(64), primary_key=True),
    Column("cloud", String(128), ForeignKey("clouds.name", ondelete="CASCADE"), nullable=False, index=True),
    Column("api_secret", String(128), nullable=False),
    Column("label", String(255), nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)

assets = Table(
    "assets",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("cloud", String(128), ForeignKey("clouds.name", ondelete="CASCADE"), nullable=False),
    Column("asset_id", String(32), nullable=False, unique=True),
    Column("resource_type", String(16), nullable=False),  # image | video | raw
    Column("type", String(32), nullable=False),  # upload | private | authenticated
    Column("public_id", String(1024), nullable=False),
    # The folder part of public_id ("" at the root), kept for prefix listing and search.
    Column("folder", String(1024), nullable=False, default=""),
    Column("asset_folder", String(1024), nullable=False, default=""),
    Column("filename", String(1024), nullable=False, default=""),  # last segment of public_id
    Column("display_name", String(1024), nullable=False, default=""),
    Column("original_filename", String(1024), nullable=False, default=""),
    Column("version", BigInteger, nullable=False),  # Unix seconds of the upload, bumped on overwrite
    Column("version_id", String(32), nullable=False),
    Column("format", String(16), nullable=False, default=""),
    Column("bytes", BigInteger, nullable=False, default=0),
    Column("width", Integer, nullable=True),
    Column("height", Integer, nullable=True),
    Column("pages", Integer, nullable=True),
    Column("pixels", BigInteger, nullable=True),
    Column("aspect_ratio", Float, nullable=True),
    Column("duration", Float, nullable=True),  # seconds, video/audio only
    # Cloudinary's other video reply fields (frame_rate, bit_rate, video, audio, is_audio, rotation, nb_frames).
    Column("video_metadata", JSON, nullable=True),
    Column("etag", String(32), nullable=False, default=""),  # MD5 of the original bytes
    Column("storage_key", String(2048), nullable=False),  # where the original lives in the blob store
    Column("mime_type", String(128), nullable=False, default="application/octet-stream"),
    Column("placeholder", Boolean, nullable=False, default=False),
    Column("access_mode", String(16), nullable=False, default="public"),
    # Every version of this asset is backed up whatever the cloud's setting (the upload's `backup=true`).
    Column("backup", Boolean, nullable=False, default=False),
    # {"phash", "colors"} for `visual_search`, kept when uploaded with `visual_search=true`; else null.
    Column("visual_features", JSON, nullable=True),
    Column("moderation_status", String(16), nullable=True),
    # The add-ons' findings (catalog/moderation.py): {"faces", "custom", "ocr": [[x, y, w, h]…] in
    # original pixels, "moderation": [{kind, status, response?, updated_at}], "info": {family: {kind: …}}}.
    Column("annotations", JSON, nullable=True),
    Column("moderation_kinds", String(512), nullable=True),  # "|aws_rek:approved|manual:pending|": listing by kind and status
    Column("status", String(16), nullable=False, default="active"),
    Column("context", JSON, nullable=False, default=dict),  # {"key": "value"} (Cloudinary's context.custom)
    Column("metadata", JSON, nullable=False, default=dict),  # structured metadata {"field_id": value}
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("uploaded_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("cloud", "resource_type", "type", "public_id", name="uq_assets_identity"),
    Index("ix_assets_cloud_created", "cloud", "created_at", "id"),
    Index("ix_assets_cloud_folder", "cloud", "folder"),
    Index("ix_assets_cloud_public_id", "cloud", "public_id"),
    Index("ix_assets_storage_key", "storage_key"),  # the integrity sweep asks which blobs rows reference
)

# The filter columns copied from the tagged asset (written by catalog.assets.insert_tags, kept in
# step by the trigger below), so that a search count such as `tags=x AND bytes>1m` reads the tag
# index alone instead of probing the asset of every tagged row (24k probes for a common tag at 1M).
TAG_COPIED_COLUMNS = ("cloud", "resource_type", "type", "format", "bytes", "created_at", "uploaded_at")

asset_tags = Table(
    "asset_tags",
    metadata,
    Column("asset_pk", ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True),
    Column("tag", String(255), primary_key=True),
    Column("cloud", String(128), nullable=False),
    Column("resource_type", String(16), nullable=False),
    Column("type", String(32), nullable=False),
    Column("format", String(16), nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("uploaded_at", DateTime(timezone=True), nullable=False),
    # Leads with tag, so a tag look-up without a cloud (deletion, archives) still uses it; covers
    # every copied column, so a count over a tag never visits the table.
    Index("ix_asset_tags_tag", "tag", "cloud", "asset_pk", *TAG_COPIED_COLUMNS[1:]),
)

derived = Table(
    "derived",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("asset_pk", ForeignKey("assets.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("version", BigInteger, nullable=False),
    Column("transformation", Text, nullable=False),  # canonical transformation string ("" = format change only)
    # What else decided the bytes: the URL's extension, and for f_auto/q_auto/w_auto the client's hints.
    Column("variant", String(255), nullable=False, default=""),
    Column("format", String(16), nullable=False),  # the output format
    Column("storage_key", String(2048), nullable=False),
    Column("bytes", BigInteger, nullable=False, default=0),
    Column("width", Integer, nullable=True),
    Column("height", Integer, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("asset_pk", "version", "transformation", "variant", name="uq_derived_identity"),
    Index("ix_derived_storage_key", "storage_key"),  # as ix_assets_storage_key
)

upload_presets = Table(
    "upload_presets",
    metadata,
    Column("cloud", String(128), ForeignKey("clouds.name", ondelete="CASCADE"), primary_key=True),
    Column("name", String(255), primary_key=True),
    Column("unsigned", Boolean, nullable=False, default=False),
    Column("disallow_public_id", Boolean, nullable=False, default=False),
    Column("live", Boolean, nullable=False, default=False),
    Column("settings", JSON, nullable=False, default=dict),  # upload parameters, as the Upload API takes them
    Column("created_at", DateTime(timezone=True), nullable=False),
)

named_transformations = Table(
    "named_transformations",
    metadata,
    Column("cloud", String(128), ForeignKey("clouds.name", ondelete="CASCADE"), primary_key=True),
    Column("name", String(255), primary_key=True),
    Column("transformation", Text, nullable=False),
    Column("allowed_for_strict", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

signing_policies = Table(
    "signing_policies",
    metadata,
    Column("cloud", String(128), ForeignKey("clouds.name", ondelete="CASCADE"), primary_key=True),
    Column("name", String(255), primary_key=True),
    # SHA-256 of the bearer token an app presents; the token itself is shown once and never stored.
    Column("token_hash", String(64), nullable=True, unique=True),
    Column("allow_console", Boolean, nullable=False, default=False),
    Column("allowed_params", JSON, nullable=False, default=list),
    Column("folder_prefix", String(1024), nullable=False, default=""),
    Column("allowed_presets", JSON, nullable=False, default=list),
    Column("max_skew_seconds", Integer, nullable=False, default=300),
    Column("api_key", String(64), nullable=True),  # which key signs; None = the cloud's first active key
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Parts of a chunked upload (`upload_large`) that have arrived; the bytes live in the data dir.
upload_chunks = Table(
    "upload_chunks",
    metadata,
    Column("cloud", String(128), primary_key=True),
    Column("upload_id", String(64), primary_key=True),
    Column("start", BigInteger, primary_key=True),
    Column("end", BigInteger, nullable=False),
    Column("total", BigInteger, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Console operators (`darkroom users create`). Passwords are argon2id hashes; failed sign-ins
# are counted in `throttles`.
console_users = Table(
    "console_users",
    metadata,
    Column("username", String(255), primary_key=True),
    Column("password_hash", String(255), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_login_at", DateTime(timezone=True), nullable=True),
)

# Signed-in console sessions; the cookie carries the id, signed. Deleting the row signs out.
console_sessions = Table(
    "console_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),  # SHA-256 of the session id in the cookie
    Column("username", ForeignKey("console_users.username", ondelete="CASCADE"), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

# Failed attempts (sign-ins, bearer tokens) counted per key, and the lock they lead to
# (media.throttling holds the rules). `kind` names the rule; `subject` is a user name or "";
# `client` a client address, or "*" for a count over every address.
throttles = Table(
    "throttles",
    metadata,
    Column("kind", String(32), primary_key=True),
    Column("subject", String(255), primary_key=True),
    Column("client", String(64), primary_key=True),
    Column("failures", Integer, nullable=False),  # since the last success (or a day of quiet)
    Column("locked_until", DateTime(timezone=True), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False, index=True),  # the last failure
)

# Bearer tokens for machine callers such as the TinaCMS media store (`darkroom tokens create`).
access_tokens = Table(
    "access_tokens",
    metadata,
    Column("id", String(32), primary_key=True),  # public handle, shown in listings and used to revoke
    Column("token_hash", String(64), nullable=False, unique=True),  # SHA-256 of the token; the token is shown once
    Column("scope", String(64), nullable=False),  # e.g. "media"
    Column("label", String(255), nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)

# --- Admin API (issue 4) -------------------------------------------------------------------

# Folders created explicitly (`create_folder`); folders that only exist because assets live in
# them are derived from assets.folder / assets.asset_folder and need no row.
folders = Table(
    "folders",
    metadata,
    Column("cloud", String(128), ForeignKey("clouds.name", ondelete="CASCADE"), primary_key=True),
    Column("path", String(1024), primary_key=True),  # "a/b", no leading or trailing slash
    Column("external_id", String(32), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Structured metadata field definitions; asset values live in assets.metadata keyed by external_id.
metadata_fields = Table(
    "metadata_fields",
    metadata,
    Column("cloud", String(128), ForeignKey("clouds.name", ondelete="CASCADE"), primary_key=True),
    Column("external_id", String(255), primary_key=True),
    Column("type", String(16), nullable=False),  # string | integer | date | enum | set
    Column("label", String(255), nullable=False),
    Column("mandatory", Boolean, nullable=False, default=False),
    Column("default_value", JSON, nullable=True),
    Column("default_disabled", Boolean, nullable=False, default=False),
    Column("validation", JSON, nullable=True),
    Column("restrictions", JSON, nullable=True),
    # enum/set entries in display order: [{"external_id", "value", "state": active|inactive|deleted}]
    Column("datasource", JSON, nullable=True),
    Column("position", Integer, nullable=False, default=0),  # order of list_metadata_fields
    Column("created_at", DateTime(timezone=True), nullable=False),
)


# Conditional metadata rules: when `condition` holds on an asset's values, `result` applies to
# the field `metadata_field_id` (shown/hidden, values activated, a value applied, made mandatory).
metadata_rules = Table(
    "metadata_rules",
    metadata,
    Column("cloud", String(128), ForeignKey("clouds.name", ondelete="CASCADE"), primary_key=True),
    Column("external_id", String(255), primary_key=True),
    Column("metadata_field_id", String(255), nullable=False),
    Column("name", String(255), nullable=False),
    Column("condition", JSON, nullable=False),
    Column("result", JSON, nullable=False),
    Column("state", String(16), nullable=False),  # active | inactive
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Custom adaptive-streaming profiles; the built-in ones are constants in catalog.streaming.
streaming_profiles = Table(
    "streaming_profiles",
    metadata,
    Column("cloud", String(128), ForeignKey("clouds.name", ondelete="CASCADE"), primary_key=True),
    Column("name", String(255), primary_key=True),
    Column("display_name", String(255), nullable=True),
    Column("representations", JSON, nullable=False, default=list),  # [{"transformation": "w_640,…"}]
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Upload mappings (lazy migration): a delivery URL under `folder` whose asset is missing is
# fetched from `template` + the rest of the URL, once, and stored as an ordinary asset.
upload_mappings = Table(
    "upload_mappings",
    metadata,
    Column("cloud", String(128), ForeignKey("clouds.name", ondelete="CASCADE"), primary_key=True),
    Column("folder", String(255), primary_key=True),  # "wiki" or "a/b", no leading or trailing slash
    Column("template", Text, nullable=False),  # an http(s) URL prefix
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# The job journal (darkroom.jobs): every job from enqueue to done. The queue (huey) only
# carries job ids to wake a worker; this row is the truth, so a job whose worker died (its
# lease expired) or whose queue message was lost is pushed again and nothing is dropped.
jobs = Table(
    "jobs",
    metadata,
    Column("id", String(32), primary_key=True),  # random hex, also the queue message
    Column("name", String(128), nullable=False),  # the handler's name (media.tasks)
    Column("payload", JSON, nullable=False),
    Column("state", String(16), nullable=False),  # queued | running | done | failed
    Column("attempts", Integer, nullable=False, default=0),  # runs started so far
    Column("run_after", DateTime(timezone=True), nullable=False),  # not before (retry back-off)
    Column("pushed_at", DateTime(timezone=True), nullable=True),  # last put on the queue
    Column("lease_until", DateTime(timezone=True), nullable=True),  # a running job's claim ends
    Column("last_error", Text, nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Index("ix_jobs_state_run_after", "state", "run_after"),
)

# Notification triggers (the Admin API's /triggers): webhooks fired on an event type.
notification_triggers = Table(
    "notification_triggers",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("cloud", String(128), ForeignKey("clouds.name", ondelete="CASCADE"), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("uri", Text, nullable=False),
    Column("uri_type", String(16), nullable=False, default="webhook"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_notification_triggers_cloud_event", "cloud", "event_type"),
)

# Indexes for the Admin listings and the Search API's common filters and sorts.
Index("ix_assets_cloud_asset_folder", assets.c.cloud, assets.c.asset_folder, assets.c.created_at, assets.c.id)
Index("ix_assets_cloud_folder_created", assets.c.cloud, assets.c.folder, assets.c.created_at, assets.c.id)
Index("ix_assets_cloud_format", assets.c.cloud, assets.c.format)
Index("ix_assets_cloud_kind_created", assets.c.cloud, assets.c.resource_type, assets.c.type, assets.c.created_at, assets.c.id)
Index("ix_assets_cloud_uploaded", assets.c.cloud, assets.c.uploaded_at, assets.c.id)

# Search counts (bench/search.py): each lets PostgreSQL count a broad match from an index alone.
# `format:png AND folder:…` sorted or counted by size.
Index("ix_assets_cloud_format_bytes", assets.c.cloud, assets.c.format, assets.c.bytes, assets.c.id, assets.c.folder)
# `created_at:[a TO b] AND -format:gif`.
Index("ix_assets_cloud_created_format", assets.c.cloud, assets.c.created_at, assets.c.format)
# `format:png AND folder:users/*` counted from one tight index range (PostgreSQL 1M: 57 → 33 ms p50;
# SQLite 100k: 97 → 9 ms for the count alone).
Index("ix_assets_cloud_format_folder", assets.c.cloud, assets.c.format, assets.c.folder)

# Tombstones of deleted assets in clouds with backups on (clouds.settings {"backups": true}):
# the row as it was and its tags; the original blob is kept so `restore` can bring it back.
deleted_assets = Table(
    "deleted_assets",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("cloud", String(128), ForeignKey("clouds.name", ondelete="CASCADE"), nullable=False),
    Column("resource_type", String(16), nullable=False),
    Column("type", String(32), nullable=False),
    Column("public_id", String(1024), nullable=False),
    Column("asset_id", String(32), nullable=False),
    Column("row", JSON, nullable=False),  # the assets row without its id; datetimes as ISO 8601 text
    Column("tags", JSON, nullable=False, default=list),
    # `deleted`: the last version of a deleted asset (its tombstone, what `resource` answers as a
    # placeholder); `version`: an earlier version kept by a backup when the asset was overwritten.
    Column("kind", String(16), nullable=False, default="deleted"),
    Column("deleted_at", DateTime(timezone=True), nullable=False),  # when it was deleted or superseded
    Index("ix_deleted_assets_identity", "cloud", "resource_type", "type", "public_id", "id"),
    Index("ix_deleted_assets_asset_id", "cloud", "asset_id", "id"),
)

# `related_assets`: a relation is kept both ways (each asset lists the other), as Cloudinary shows it.
related_assets = Table(
    "related_assets",
    metadata,
    Column("asset_pk", ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True),
    Column("related_pk", ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Deliveries per cloud and day, for the Admin API's `usage`. Each server process counts in memory
# and adds its counts every few seconds (`add_delivery_usage`): no write per request.
delivery_usage = Table(
    "delivery_usage",
    metadata,
    Column("cloud", String(128), ForeignKey("clouds.name", ondelete="CASCADE"), primary_key=True),
    Column("day", Date, primary_key=True),  # UTC
    Column("requests", BigInteger, nullable=False),  # delivery requests answered (2xx and 3xx)
    Column("bandwidth", BigInteger, nullable=False),  # bytes of those answers' bodies
)

# --- Kept in step with `assets` by triggers ---------------------------------------------------

# How many assets each cloud holds per (resource_type, type, format, folder), so a search whose
# filters name only these columns (`format:png AND folder:users/*`, or nothing at all) gets its
# exact total_count and value aggregations from a few hundred rows instead of counting 1M.
# Triggers on `assets` keep it exact in the writing transaction, whoever writes: uploads,
# overwrites, renames, folder moves, deletes (one or by the thousand), restores, cloud deletion.
COUNTED_COLUMNS = ("cloud", "resource_type", "type", "format", "folder")

asset_counts = Table(
    "asset_counts",
    metadata,
    Column("cloud", String(128), ForeignKey("clouds.name", ondelete="CASCADE"), primary_key=True),
    Column("resource_type", String(16), primary_key=True),
    Column("type", String(32), primary_key=True),
    Column("format", String(16), primary_key=True),
    Column("folder", String(1024), primary_key=True),
    Column("assets", BigInteger, nullable=False),  # > 0: a group whose last asset goes is deleted
)


def _columns(names: tuple[str, ...], prefix: str = "") -> str:
    return ", ".join(prefix + name for name in names)


def _same(names: tuple[str, ...], left: str, right: str) -> str:
    return " AND ".join(f"{left}{name} = {right}{name}" for name in names)


def _changed(names: tuple[str, ...], old: str, new: str, distinct: str) -> str:
    return " OR ".join(f"{old}{name} {distinct} {new}{name}" for name in names)


_KEY = _columns(COUNTED_COLUMNS)
_COPIED = TAG_COPIED_COLUMNS[1:]  # an asset never changes cloud
# Updated assets whose counted key changed (PostgreSQL transition tables old_rows/new_rows).
_MOVED = f"old_rows AS o JOIN new_rows AS n ON n.id = o.id WHERE {_changed(COUNTED_COLUMNS, 'o.', 'n.', 'IS DISTINCT FROM')}"

# PostgreSQL: statement triggers over transition tables, so a bulk delete or a COPY adjusts each
# counter once (grouped), not once per row. Counters are upserted in key order (fewer deadlocks
# between concurrent uploads); a decrement only updates, since on cloud deletion the counters
# may already be gone and an insert would then break their foreign key.
_POSTGRES_TRIGGERS = [
    f"""CREATE OR REPLACE FUNCTION darkroom_assets_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO asset_counts AS c ({_KEY}, assets)
    SELECT {_KEY}, count(*) FROM new_rows GROUP BY {_KEY} ORDER BY {_KEY}
    ON CONFLICT ({_KEY}) DO UPDATE SET assets = c.assets + excluded.assets;
  RETURN NULL;
END $$""",
    f"""CREATE OR REPLACE FUNCTION darkroom_assets_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE asset_counts AS c SET assets = c.assets - gone.n
    FROM (SELECT {_KEY}, count(*) AS n FROM old_rows GROUP BY {_KEY}) AS gone WHERE {_same(COUNTED_COLUMNS, "c.", "gone.")};
  DELETE FROM asset_counts AS c USING (SELECT DISTINCT {_KEY} FROM old_rows) AS gone
    WHERE {_same(COUNTED_COLUMNS, "c.", "gone.")} AND c.assets <= 0;
  RETURN NULL;
END $$""",
    f"""CREATE OR REPLACE FUNCTION darkroom_assets_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM {_MOVED}) THEN
    UPDATE asset_counts AS c SET assets = c.assets - m.n
      FROM (SELECT {_columns(COUNTED_COLUMNS, "o.")}, count(*) AS n FROM {_MOVED} GROUP BY {_columns(COUNTED_COLUMNS, "o.")}) AS m
      WHERE {_same(COUNTED_COLUMNS, "c.", "m.")};
    DELETE FROM asset_counts AS c
      WHERE c.assets <= 0 AND ({_columns(COUNTED_COLUMNS, "c.")}) IN (SELECT {_columns(COUNTED_COLUMNS, "o.")} FROM {_MOVED});
    INSERT INTO asset_counts AS c ({_KEY}, assets)
      SELECT {_columns(COUNTED_COLUMNS, "n.")}, count(*) FROM {_MOVED}
      GROUP BY {_columns(COUNTED_COLUMNS, "n.")} ORDER BY {_columns(COUNTED_COLUMNS, "n.")}
      ON CONFLICT ({_KEY}) DO UPDATE SET assets = c.assets + excluded.assets;
  END IF;
  UPDATE asset_tags AS t SET {", ".join(f"{name} = n.{name}" for name in _COPIED)}
    FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id
    WHERE t.asset_pk = n.id AND ({_changed(_COPIED, "o.", "n.", "IS DISTINCT FROM")});
  RETURN NULL;
END $$""",
    """CREATE TRIGGER assets_inserted AFTER INSERT ON assets REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION darkroom_assets_inserted()""",
    """CREATE TRIGGER assets_deleted AFTER DELETE ON assets REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION darkroom_assets_deleted()""",
    """CREATE TRIGGER assets_updated AFTER UPDATE ON assets REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION darkroom_assets_updated()""",
]

_SQLITE_ADD = f"""INSERT INTO asset_counts ({_KEY}, assets) VALUES ({_columns(COUNTED_COLUMNS, "NEW.")}, 1)
    ON CONFLICT ({_KEY}) DO UPDATE SET assets = assets + 1;"""
_SQLITE_REMOVE = f"""UPDATE asset_counts SET assets = assets - 1 WHERE {_same(COUNTED_COLUMNS, "", "OLD.")};
  DELETE FROM asset_counts WHERE {_same(COUNTED_COLUMNS, "", "OLD.")} AND assets <= 0;"""

# SQLite: row triggers (it has no statement triggers); the same arithmetic one asset at a time.
_SQLITE_TRIGGERS = [
    f"CREATE TRIGGER IF NOT EXISTS assets_inserted AFTER INSERT ON assets BEGIN\n  {_SQLITE_ADD}\nEND",
    f"CREATE TRIGGER IF NOT EXISTS assets_deleted AFTER DELETE ON assets BEGIN\n  {_SQLITE_REMOVE}\nEND",
    f"""CREATE TRIGGER IF NOT EXISTS assets_counted_moved AFTER UPDATE OF {_KEY} ON assets
WHEN {_changed(COUNTED_COLUMNS, "OLD.", "NEW.", "IS NOT")} BEGIN
  {_SQLITE_REMOVE}
  {_SQLITE_ADD}
END""",
    f"""CREATE TRIGGER IF NOT EXISTS assets_tag_copies AFTER UPDATE OF {_columns(_COPIED)} ON assets
WHEN {_changed(_COPIED, "OLD.", "NEW.", "IS NOT")} BEGIN
  UPDATE asset_tags SET {", ".join(f"{name} = NEW.{name}" for name in _COPIED)} WHERE asset_pk = NEW.id;
END""",
]


def _create_triggers(target: MetaData, connection: Connection, **_: Any) -> None:
    statements = _POSTGRES_TRIGGERS if connection.dialect.name == "postgresql" else _SQLITE_TRIGGERS
    for statement in statements:
        connection.exec_driver_sql(statement)


def _drop_trigger_functions(target: MetaData, connection: Connection, **_: Any) -> None:
    """PostgreSQL keeps functions after their tables go; drop them (and so the triggers) first."""
    if connection.dialect.name == "postgresql":
        for name in ("darkroom_assets_inserted", "darkroom_assets_deleted", "darkroom_assets_updated"):
            connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {name}() CASCADE")


event.listen(metadata, "after_create", _create_triggers)
event.listen(metadata, "before_drop", _drop_trigger_functions)

# --- scale-out (issue 16) --------------------------------------------------------------------

# Secrets every server of a deployment must agree on and nobody configured, made once by the
# first server to need one (the console's session key when DARKROOM_SESSION_SECRET is empty).
instance_secrets = Table(
    "instance_secrets",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# `darkroom import`: where a copy from a Cloudinary account stands, so a killed run resumes.
# One row per (source, destination cloud, listing) with the listing's next cursor; one row per
# copied asset with the checksum it was verified by.
import_runs = Table(
    "import_runs",
    metadata,
    Column("source", String(255), primary_key=True),  # the source cloud's name and API key, never its secret
    Column("cloud", String(128), primary_key=True),  # the destination cloud
    Column("listing", String(64), primary_key=True),  # e.g. "image/upload", "named_transformations"
    Column("next_cursor", Text, nullable=True),  # None before the first page and after the last
    Column("finished", Boolean, nullable=False, default=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

import_items = Table(
    "import_items",
    metadata,
    Column("source", String(255), primary_key=True),
    Column("cloud", String(128), primary_key=True),
    Column("asset_id", String(64), primary_key=True),  # the source's asset_id
    Column("public_id", String(255), nullable=False),
    Column("checksum", String(64), nullable=False),  # the original's etag (MD5), verified after copying
    Column("bytes", BigInteger, nullable=False),
    Column("imported_at", DateTime(timezone=True), nullable=False),
)
