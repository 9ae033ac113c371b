"""The `darkroom` command: serve, migrate, keys, policies (and the console's users and tokens)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from sqlalchemy.engine import Engine

from darkroom import catalog
from darkroom.config import Settings, SettingsError

__all__ = ["main"]


def _settings(data_dir: str | None) -> Settings:
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc
    return settings.with_changes(data_dir=Path(data_dir)) if data_dir else settings


def _engine(settings: Settings) -> Engine:
    """The migrated metadata database, as `darkroom serve` opens it."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = catalog.create_engine_for(settings.resolved_database_url)
    catalog.migrate(engine)
    return engine


data_dir_option = click.option("--data-dir", default=None, help="Data folder (default: $DARKROOM_DATA_DIR or ./data).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """darkroom: a self-hosted media platform that speaks Cloudinary's wire protocol."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8088, show_default=True, type=int, help="Port to listen on.")
@data_dir_option
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False), help="PEM certificate: serve HTTPS.")
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False), help="PEM private key for --tls-cert.")
@click.option("--workers", default=1, show_default=True, type=int, help="Server processes.")
@click.option("--log-level", default="info", show_default=True, help="uvicorn log level.")
def serve(host: str, port: int, data_dir: str | None, tls_cert: str | None, tls_key: str | None, workers: int, log_level: str) -> None:
    """Run the HTTP server (Upload API, Admin API, delivery, console)."""
    import uvicorn

    if bool(tls_cert) != bool(tls_key):
        raise click.UsageError("--tls-cert and --tls-key go together")
    settings = _settings(data_dir)
    engine = _engine(settings)
    if settings.cloudinary_url is not None:
        creds = settings.cloudinary_url
        catalog.upsert_key(engine, creds.cloud_name, creds.api_key, creds.api_secret, label="CLOUDINARY_URL")
    _announce(engine, settings, host, port, secure=bool(tls_cert))
    engine.dispose()
    # Workers are separate processes: they rebuild settings from the environment.
    os.environ["DARKROOM_DATA_DIR"] = str(settings.data_dir.resolve())
    uvicorn.run(
        "darkroom.api.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        ssl_certfile=tls_cert,
        ssl_keyfile=tls_key,
        log_level=log_level,
        proxy_headers=False,
    )


def _announce(engine: Engine, settings: Settings, host: str, port: int, *, secure: bool) -> None:
    """Print the CLOUDINARY_URL an app should use; on a fresh data dir, make a `demo` cloud first."""
    key = _first_active_key(engine)
    if key is None:
        key = catalog.create_key(engine, "demo", label="created by darkroom serve")
    scheme = "https" if secure else "http"
    base = f"{host}:{port}"
    click.echo(f"darkroom: serving on {scheme}://{base}")
    click.echo(f"CLOUDINARY_URL=cloudinary://{key.api_key}:{key.api_secret}@{key.cloud}?upload_prefix={scheme}://{base}&cname={base}")
    click.echo(f"console: {scheme}://{base}/console")
    sys.stdout.flush()


def _first_active_key(engine: Engine) -> catalog.ApiKey | None:
    import sqlalchemy as sa

    from darkroom.catalog.schema import api_keys

    with engine.connect() as conn:
        row = conn.execute(
            sa.select(api_keys.c.api_key).where(api_keys.c.revoked_at.is_(None)).order_by(api_keys.c.created_at).limit(1)
        ).first()
    return catalog.find_key(engine, row.api_key) if row else None


@main.command()
@data_dir_option
def migrate(data_dir: str | None) -> None:
    """Create or upgrade the metadata database."""
    settings = _settings(data_dir)
    _engine(settings).dispose()
    click.echo(f"migrated {settings.resolved_database_url.split('@')[-1]}")


@main.group()
def keys() -> None:
    """API keys (a cloud can have several)."""


@keys.command("create")
@click.option("--cloud", required=True, help="Cloud name (created if new).")
@click.option("--label", default="", help="A note to tell keys apart.")
@data_dir_option
def keys_create(cloud: str, label: str, data_dir: str | None) -> None:
    """Create a key; its secret is shown once."""
    key = catalog.create_key(_engine(_settings(data_dir)), cloud, label)
    click.echo(f"api_key={key.api_key}\napi_secret={key.api_secret}\ncloud={key.cloud}")


@keys.command("list")
@click.option("--cloud", required=True)
@data_dir_option
def keys_list(cloud: str, data_dir: str | None) -> None:
    """List a cloud's keys (secrets are not shown)."""
    for key in catalog.list_keys(_engine(_settings(data_dir)), cloud):
        state = "active" if key.active else f"revoked {key.revoked_at:%Y-%m-%d}"
        click.echo(f"{key.api_key}\t{state}\t{key.label}")


@keys.command("revoke")
@click.argument("api_key")
@data_dir_option
def keys_revoke(api_key: str, data_dir: str | None) -> None:
    """Revoke a key: requests signed with it are refused from now on."""
    if not catalog.revoke_key(_engine(_settings(data_dir)), api_key):
        raise click.ClickException(f"no active key {api_key}")
    click.echo(f"revoked {api_key}")


@main.group()
def clouds() -> None:
    """Clouds (tenants) and their settings."""


@clouds.command("create")
@click.argument("cloud")
@data_dir_option
def clouds_create(cloud: str, data_dir: str | None) -> None:
    """Create a cloud (see `keys create` for its keys)."""
    catalog.ensure_cloud(_engine(_settings(data_dir)), cloud)
    click.echo(f"cloud {cloud}")


@clouds.command("set")
@click.argument("cloud")
@click.option("--strict/--no-strict", "strict", default=None, help="Strict transformations: only signed or allowed transformations render.")
@data_dir_option
def clouds_set(cloud: str, strict: bool | None, data_dir: str | None) -> None:
    """Change a cloud's settings."""
    if strict is not None:
        try:
            catalog.set_strict_transformations(_engine(_settings(data_dir)), cloud, strict)
        except catalog.CloudNotFound as exc:
            raise click.ClickException(exc.message) from exc
        click.echo(f"{cloud}: strict transformations {'on' if strict else 'off'}")


@main.group()
def policies() -> None:
    """Signing policies for /api/sign."""


@policies.command("create")
@click.option("--cloud", required=True)
@click.option("--name", required=True, help="Policy name (replaces one of the same name).")
@click.option("--allow", "allowed", multiple=True, default=("folder", "upload_preset", "public_id", "tags", "context"), show_default=True, help="A parameter the browser may have signed (repeat).")
@click.option("--folder-prefix", default="", help="Force uploads into this folder (or below).")
@click.option("--preset", "presets", multiple=True, help="An upload preset the browser may use (repeat).")
@click.option("--max-skew", default=300, show_default=True, type=int, help="Seconds paramsToSign.timestamp may be off.")
@click.option("--console/--no-console", default=False, help="Also admit signed-in console sessions.")
@data_dir_option
def policies_create(cloud: str, name: str, allowed: tuple[str, ...], folder_prefix: str, presets: tuple[str, ...], max_skew: int, console: bool, data_dir: str | None) -> None:
    """Create a policy and print its bearer token (shown once)."""
    policy, token = catalog.create_signing_policy(
        _engine(_settings(data_dir)),
        cloud,
        name,
        allowed_params=list(allowed),
        folder_prefix=folder_prefix,
        allowed_presets=list(presets),
        max_skew_seconds=max_skew,
        allow_console=console,
    )
    click.echo(f"policy={policy.name}\ntoken={token}")


@policies.command("list")
@click.option("--cloud", required=True)
@data_dir_option
def policies_list(cloud: str, data_dir: str | None) -> None:
    """List a cloud's signing policies."""
    for policy in catalog.list_signing_policies(_engine(_settings(data_dir)), cloud):
        click.echo(f"{policy.name}\tparams={','.join(policy.allowed_params)}\tfolder={policy.folder_prefix or '*'}\tpresets={','.join(policy.allowed_presets) or '*'}")


from darkroom.cli.users import tokens, users  # noqa: E402  (the console's command groups)

main.add_command(users)
main.add_command(tokens)
