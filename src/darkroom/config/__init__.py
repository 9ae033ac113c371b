"""Settings, read once from the environment into one immutable object.

Every setting is declared once in `SETTINGS` with its name, default and a line of help;
`Settings.from_env` reads them and reports every bad value at once. Nothing else in
darkroom reads `os.environ`: parts receive the values they need as arguments.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = ["SETTINGS", "Secret", "Settings", "SettingsError", "CloudinaryUrl", "parse_cloudinary_url"]


class SettingsError(ValueError):
    """One or more settings are invalid; the message lists them all."""


class Secret(str):
    """A string whose repr is masked so it never lands in a log by accident."""

    def __repr__(self) -> str:
        return "Secret('**********')"


@dataclass(frozen=True)
class Setting:
    env: str
    attr: str
    default: str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("DARKROOM_DATA_DIR", "data_dir", "./data", "Folder for the SQLite database, originals and derivatives."),
    Setting("DARKROOM_DATABASE_URL", "database_url", "", "SQLAlchemy URL; empty means SQLite in the data dir. PostgreSQL: postgresql+psycopg://user@host/db."),
    Setting("DARKROOM_STORAGE_URL", "storage_url", "", "Blob store: empty means a folder in the data dir; file:///path, s3://bucket?endpoint=…, memory://."),
    Setting("DARKROOM_PUBLIC_URL", "public_url", "", "Base of `url`/`secure_url` in responses, e.g. http://127.0.0.1:8088; empty means the request's own host."),
    Setting("CLOUDINARY_URL", "cloudinary_url", "", "cloudinary://KEY:SECRET@CLOUD — creates (or updates) that cloud and key at start-up."),
    Setting("DARKROOM_MAX_UPLOAD_BYTES", "max_upload_bytes", str(10 * 1024**3), "Largest accepted upload, in bytes."),
    Setting("DARKROOM_MAX_IMAGE_PIXELS", "max_image_pixels", str(100_000_000), "Largest accepted image, in pixels (width × height × pages), checked before decoding."),
    Setting("DARKROOM_FETCH_TIMEOUT", "fetch_timeout", "30", "Seconds allowed for fetching a remote file (upload from URL)."),
    Setting("DARKROOM_FETCH_ALLOW", "fetch_allow", "", "Comma-separated networks (CIDR) that remote fetches may reach even though private, e.g. 127.0.0.1/32."),
    Setting("DARKROOM_TRUSTED_PROXIES", "trusted_proxies", "", "Comma-separated networks (CIDR) of reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed (client addresses in logs, rate limits and lock-outs; Secure cookies; URL schemes). Empty: the headers are ignored."),
    Setting("DARKROOM_TIMESTAMP_WINDOW", "timestamp_window", "3600", "Seconds a signed request's timestamp stays valid."),
    Setting("DARKROOM_SESSION_SECRET", "session_secret", "", "Key for console session cookies; empty means one generated and kept in the data dir."),
    Setting("DARKROOM_RENDER_CONCURRENCY", "render_concurrency", "0", "Renders at once per server process; 0 means one per core. Each process may use every core: a keep-alive client stays on one process, so a share of the cores would leave one process queueing while another idles."),
    Setting("DARKROOM_VIDEO_CONCURRENCY", "video_concurrency", "0", "Video transcodes (ffmpeg runs) at once per server process; 0 means one per two cores for transcodes, since each ffmpeg uses several threads, and one per core for streaming segments (short encodes). Further requests for new video derivatives or segments wait their turn; with four times this many under way or waiting, a request for yet another answers 423 at once and starts nothing."),
    Setting("DARKROOM_VIDEO_TIMEOUT", "video_timeout", "900", "Seconds one video transcode may run before it is stopped and the request answered with an error."),
    Setting("DARKROOM_VIDEO_WAIT", "video_wait", "50", "Seconds a delivery request waits for a new video derivative before answering 423 (being processed, as Cloudinary does; its player retries) while the transcode goes on; 0 answers 423 at once. Keep it below a reverse proxy's read timeout."),
    Setting("DARKROOM_DECODED_CACHE_MB", "decoded_cache_mb", "256", "MiB per server process for decoded PNG/TIFF/BMP sources, so a new size of a recently rendered image skips decoding; 0 turns it off."),
    Setting("DARKROOM_RENDER_MEMORY_MB", "render_memory_mb", "512", "MiB per server process that renders at once may hold, estimated from each source's header (frames × width × height) before decoding; renders beyond it wait their turn, and one render needing more than all of it is refused with a 400. With the other defaults one process stays under 1 GB."),
    Setting("DARKROOM_USAGE_FLUSH_SECONDS", "usage_flush_seconds", "5", "Seconds between adding each server process's delivery counts (requests, bandwidth) to the database, for the Admin API's usage; also added at shutdown."),
    Setting("DARKROOM_ORPHAN_GRACE_SECONDS", "orphan_grace_seconds", "3600", "Age in seconds before the integrity sweep (`darkroom fsck`, start-up, schedule) removes a blob no catalog row references, or a spool file: younger ones may belong to uploads still running on some server."),
    Setting("DARKROOM_SWEEP_INTERVAL_SECONDS", "sweep_interval_seconds", "3600", "Seconds between each server process's integrity sweeps (orphan blobs, leftover spool files); one also runs at start-up; 0 turns the schedule off."),
    Setting("DARKROOM_REDIS_URL", "redis_url", "", "Redis for state shared by several darkroom processes (job queue, invalidations, single-flight, rate limits), e.g. redis://127.0.0.1:6379/0; empty means the single-machine behaviour (jobs in SQLite in the data dir, per-process memories)."),
    Setting("DARKROOM_PURGE_URL", "purge_url", "", "CDN or caching proxy purge hook, called when a destroy, rename, explicit or overwriting upload says invalidate=true: a URL template with {cloud}, {resource_type}, {type}, {public_id}, {asset_id}, e.g. http://127.0.0.1:6081/{cloud}/{resource_type}/{type}/{public_id}; the asset's Surrogate-Key header goes with it. Empty: no purge."),
    Setting("DARKROOM_ACCEL_REDIRECT", "accel_redirect", "", "Behind nginx only: the path of an `internal` nginx location that serves the local blob folder (DARKROOM_DATA_DIR/blobs), e.g. /_darkroom_files/ as in docs/nginx-front.conf. Stored files (originals, video derivatives, streaming segments) are then answered with an X-Accel-Redirect header once darkroom has decided access, and nginx sends the bytes, byte ranges included. Empty: darkroom sends them. Needs the local blob store."),
    Setting("DARKROOM_PURGE_METHOD", "purge_method", "PURGE", "HTTP method of the purge hook: PURGE (nginx, Varnish) or BAN (Varnish), or POST for a CDN's API."),
    Setting("DARKROOM_MODELS_DIR", "models_dir", "", "Folder of ONNX models the add-ons load (background removal, tagging, upscaling, object detection; file names in docs/addons.md); empty means only the models shipped in packages (moderation, OCR, faces)."),
    Setting("DARKROOM_JOBS_IN_PROCESS", "jobs_in_process", "true", "Whether `darkroom serve` runs a job consumer in each server process; false when `darkroom worker` processes do all the jobs."),
    Setting("DARKROOM_JOB_CONCURRENCY", "job_concurrency", "2", "Jobs one consumer (a server process, or `darkroom worker`) runs at once."),
    Setting("DARKROOM_JOB_LEASE_SECONDS", "job_lease_seconds", "60", "Seconds a running job's claim lasts without being renewed (renewed while it runs); a job whose worker died is run again once its lease expires."),
    Setting("DARKROOM_JOB_RETRY_SECONDS", "job_retry_seconds", "10", "Seconds before a failed job's first retry; each further retry waits twice as long (exponential back-off)."),
    Setting("DARKROOM_JOB_MAX_ATTEMPTS", "job_max_attempts", "5", "Runs of a job before it is recorded as failed for good."),
    Setting("DARKROOM_STREAM_WAIT_SECONDS", "stream_wait_seconds", "50", "Seconds a request for an HLS/DASH segment waits for its encode before answering 423 (the encode goes on, and the player's next request gets it); keep it below a reverse proxy's read timeout. Players retry a slow request (hls.js after 10 s) but take a 423 as final for that segment, so waiting is the better answer."),
    Setting("DARKROOM_MEDIA_STORE_PATH", "media_store_path", "/api/cloudinary/media", "Base path of the TinaCMS media store."),
    Setting("DARKROOM_MEDIA_STORE_AUTH", "media_store_auth", "token,session", "Media store auth modes, in order: token, session, open (development only)."),
    Setting("DARKROOM_MEDIA_STORE_CORS_ORIGINS", "media_store_cors_origins", "", "Comma-separated origins allowed to call the media store cross-origin."),
    Setting("DARKROOM_MEDIA_STORE_CLOUD", "media_store_cloud", "", "Cloud the media store serves; empty means the console's default cloud."),
)


@dataclass(frozen=True)
class CloudinaryUrl:
    cloud_name: str
    api_key: str
    api_secret: Secret


def parse_cloudinary_url(text: str) -> CloudinaryUrl:
    """Split `cloudinary://KEY:SECRET@CLOUD[?…]` into its credentials."""
    parts = urlsplit(text)
    if parts.scheme != "cloudinary" or not parts.hostname or not parts.username or parts.password is None:
        raise SettingsError("CLOUDINARY_URL must look like cloudinary://KEY:SECRET@CLOUD")
    # hostname is lower-cased by urlsplit; cloud names keep their case.
    cloud = parts.netloc.rsplit("@", 1)[1].split(":")[0]
    return CloudinaryUrl(cloud, unquote(parts.username), Secret(unquote(parts.password)))


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("./data")
    database_url: str = ""
    storage_url: str = ""
    public_url: str = ""
    cloudinary_url: CloudinaryUrl | None = None
    max_upload_bytes: int = 10 * 1024**3
    max_image_pixels: int = 100_000_000
    fetch_timeout: float = 30.0
    fetch_allow: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    timestamp_window: int = 3600
    session_secret: Secret = field(default=Secret(""))
    render_concurrency: int = 0
    video_concurrency: int = 0
    video_timeout: float = 900.0
    video_wait: float = 50.0
    decoded_cache_mb: int = 256
    render_memory_mb: int = 512
    usage_flush_seconds: float = 5.0
    orphan_grace_seconds: int = 3600
    sweep_interval_seconds: int = 3600
    redis_url: str = ""
    purge_url: str = ""
    purge_method: str = "PURGE"
    accel_redirect: str = ""
    models_dir: Path | None = None  # DARKROOM_MODELS_DIR; None: no user-supplied models
    jobs_in_process: bool = True
    job_concurrency: int = 2
    job_lease_seconds: float = 60.0
    job_retry_seconds: float = 10.0
    job_max_attempts: int = 5
    stream_wait_seconds: float = 50.0
    media_store_path: str = "/api/cloudinary/media"
    media_store_auth: str = "token,session"
    media_store_cors_origins: str = ""
    media_store_cloud: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        environ = os.environ if environ is None else environ
        raw = {s.attr: environ.get(s.env, s.default) for s in SETTINGS}
        values: dict[str, Any] = {}
        problems: list[str] = []
        for setting in SETTINGS:
            try:
                values[setting.attr] = _convert(setting.attr, raw[setting.attr])
            except (ValueError, SettingsError) as exc:
                problems.append(f"{setting.env}: {exc}")
        storage_url = values.get("storage_url", "")
        if values.get("accel_redirect") and storage_url and not storage_url.startswith("file://"):
            problems.append("DARKROOM_ACCEL_REDIRECT: nginx can send only the files of a local blob store (DARKROOM_STORAGE_URL empty or file://)")
        if problems:
            raise SettingsError("invalid settings:\n  " + "\n  ".join(problems))
        values.update(overrides)
        return cls(**values)

    def with_changes(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'darkroom.db').resolve()}"

    @property
    def resolved_storage_url(self) -> str:
        return self.storage_url or f"file://{(self.data_dir / 'blobs').resolve()}"


# Numeric settings: how each is read (int, or float seconds), and what 0 means where 0 is
# a choice of its own (None: 0 is a mistake, the setting must be positive).
_NUMBERS: dict[str, tuple[type[int] | type[float], str | None]] = {
    "decoded_cache_mb": (int, "off"),
    "render_concurrency": (int, "automatic"),
    "video_concurrency": (int, "automatic"),
    "orphan_grace_seconds": (int, "no grace"),
    "sweep_interval_seconds": (int, "no schedule"),
    "max_upload_bytes": (int, None),
    "max_image_pixels": (int, None),
    "timestamp_window": (int, None),
    "render_memory_mb": (int, None),
    "job_concurrency": (int, None),
    "job_max_attempts": (int, None),
    "job_lease_seconds": (float, None),
    "job_retry_seconds": (float, None),
    "usage_flush_seconds": (float, None),
    "video_timeout": (float, None),
    "stream_wait_seconds": (float, "answer 423 at once"),
    "video_wait": (float, "never wait"),
}


def _number(attr: str, value: str) -> int | float:
    parse, what_zero_means = _NUMBERS[attr]
    number = parse(value)
    unit = "integer" if parse is int else "number of seconds"
    if what_zero_means is None and not number > 0:  # (`not`: a NaN is refused too)
        raise ValueError(f"must be a positive {unit}")
    if what_zero_means is not None and not number >= 0:
        raise ValueError(f"must be 0 ({what_zero_means}) or a positive {unit}")
    return number


def _convert(attr: str, value: str) -> Any:
    if attr == "data_dir":
        return Path(value)
    if attr == "models_dir":
        return Path(value) if value else None
    if attr == "cloudinary_url":
        return parse_cloudinary_url(value) if value else None
    if attr in _NUMBERS:
        return _number(attr, value)
    if attr == "jobs_in_process":
        return _parse_flag(value)
    if attr == "fetch_timeout":
        return float(value)
    if attr in ("fetch_allow", "trusted_proxies"):
        return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in value.split(",") if item.strip())
    if attr == "session_secret":
        return Secret(value)
    if attr == "redis_url" and value and urlsplit(value).scheme not in ("redis", "rediss", "unix"):
        raise ValueError("must be a redis://, rediss:// or unix:// URL")
    if attr == "purge_url" and value:
        if urlsplit(value).scheme not in ("http", "https"):
            raise ValueError("must be an http:// or https:// URL template")
        try:
            value.format(cloud="c", resource_type="image", type="upload", public_id="p", asset_id="a")
        except (KeyError, IndexError, ValueError) as error:
            raise ValueError(f"unknown placeholder {error}; use {{cloud}}, {{resource_type}}, {{type}}, {{public_id}}, {{asset_id}}") from None
    if attr == "accel_redirect" and value and not (value.startswith("/") and value.endswith("/") and "//" not in value and ".." not in value and "?" not in value):
        raise ValueError("must be a location path that starts and ends with /, e.g. /_darkroom_files/")
    if attr == "purge_method":
        if value.upper() not in ("PURGE", "BAN", "POST", "DELETE", "GET"):
            raise ValueError("must be PURGE, BAN, POST, DELETE or GET")
        return value.upper()
    if attr == "media_store_auth":
        modes = [mode.strip() for mode in value.split(",") if mode.strip()]
        unknown = [mode for mode in modes if mode not in ("token", "session", "open")]
        if unknown:
            raise ValueError(f"unknown mode(s) {', '.join(unknown)}; use token, session, open")
    return value


def _parse_flag(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("must be true or false")


def query_options(url: str) -> dict[str, str]:
    """The `?k=v` options of a URL as a flat dict (last value wins)."""
    return {k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()}
