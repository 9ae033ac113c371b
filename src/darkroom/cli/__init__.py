"""The `darkroom` command: serve, worker, migrate, keys, clouds, policies (and the console's users and tokens), fsck, import.

Errors a user can make (an unknown cloud, key or user) exit with status 1 and one line saying
what was wrong; `python -m darkroom.cli.docs` writes the README's command list from this tree.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Callable
from typing import Any

import click

from darkroom import __version__, catalog
from darkroom.cli import serving
from darkroom.catalog import Engine
from darkroom.catalog.backups import set_backups
from darkroom.catalog.cloud_settings import FOLDER_MODES, set_cloud_setting, set_folder_mode
from darkroom.catalog.moderation import HIDE_REJECTED
from darkroom.cli.options import data_dir_option, settings_for
from darkroom.config import Settings
from darkroom.media.shared_state import announce_write_now

__all__ = ["main"]


def _engine(settings: Settings) -> Engine:
    """The migrated metadata database, as `darkroom serve` opens it."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = catalog.create_engine_for(settings.resolved_database_url)
    catalog.migrate(engine)
    return engine




@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="darkroom", message="%(prog)s %(version)s")
def main() -> None:
    """darkroom: a self-hosted media platform that speaks Cloudinary's wire protocol."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, metavar="ADDRESS", help="Address to listen on.")
@click.option("--port", default=8088, show_default=True, type=int, metavar="PORT", help="Port to listen on (0: any free port).")
@data_dir_option
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False), help="PEM certificate: serve HTTPS.")
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False), help="PEM private key for --tls-cert.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1), metavar="N", help="Server processes (they share the port).")
@click.option("--log-level", default="info", show_default=True, help="uvicorn log level.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True, help="Log lines as readable text, or as JSON objects (one a line).")
def serve(host: str, port: int, data_dir: str | None, tls_cert: str | None, tls_key: str | None, workers: int, log_level: str, log_format: str) -> None:
    """Run the HTTP server: the APIs, delivery and the console.

    On a fresh data folder it creates a `demo` cloud with a key and an `admin` console user,
    and prints their secrets this once. Later starts print the key with its secret replaced
    by the command that shows it (`darkroom keys show KEY`).
    """
    if bool(tls_cert) != bool(tls_key):
        raise click.UsageError("--tls-cert and --tls-key go together")
    settings = settings_for(data_dir)
    listener = serving.listen(host, port, secure=bool(tls_cert))
    engine = _engine(settings)
    env_key = None
    if settings.cloudinary_url is not None:  # the operator holds this secret: never print it
        creds = settings.cloudinary_url
        env_key = catalog.upsert_key(engine, creds.cloud_name, creds.api_key, creds.api_secret, label="CLOUDINARY_URL")
    started = serving.first_start(engine, env_key)
    engine.dispose()
    data_dir_args = f" --data-dir {shlex.quote(data_dir)}" if data_dir else ""
    for line in serving.banner_lines(listener, started, data_dir_args):
        click.echo(line)
    sys.stdout.flush()
    # Workers are separate processes: they rebuild settings from the environment.
    os.environ["DARKROOM_DATA_DIR"] = str(settings.data_dir.resolve())
    serving.run_uvicorn(listener, workers=workers, tls_cert=tls_cert, tls_key=tls_key, log_level=log_level, log_format=log_format)


@main.command()
@data_dir_option
def migrate(data_dir: str | None) -> None:
    """Create or upgrade the metadata database."""
    settings = settings_for(data_dir)
    _engine(settings).dispose()
    click.echo(f"migrated {settings.resolved_database_url.split('@')[-1]}")


def _known_cloud(engine: Engine, cloud: str) -> str:
    """`cloud`, or exit 1 naming it: a typo must not look like an empty cloud."""
    if not catalog.cloud_exists(engine, cloud):
        raise click.ClickException(f"unknown cloud {cloud!r} (create it with `darkroom clouds create {cloud}`)")
    return cloud


def cloud_option(help: str = "Cloud name.") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option("--cloud", required=True, metavar="CLOUD", help=help)


@main.group()
def keys() -> None:
    """API keys (a cloud can have several)."""


@keys.command("create")
@cloud_option("Cloud name (created if new).")
@click.option("--label", default="", help="A note to tell keys apart.")
@data_dir_option
def keys_create(cloud: str, label: str, data_dir: str | None) -> None:
    """Create a key and print its secret."""
    key = catalog.create_key(_engine(settings_for(data_dir)), cloud, label)
    click.echo(f"api_key={key.api_key}\napi_secret={key.api_secret}\ncloud={key.cloud}")


@keys.command("list")
@cloud_option()
@data_dir_option
def keys_list(cloud: str, data_dir: str | None) -> None:
    """List a cloud's keys (secrets are not shown)."""
    engine = _engine(settings_for(data_dir))
    for key in catalog.list_keys(engine, _known_cloud(engine, cloud)):
        state = "active" if key.active else f"revoked {key.revoked_at:%Y-%m-%d}"
        click.echo(f"{key.api_key}\t{state}\t{key.label}")


@keys.command("show")
@click.argument("api_key")
@click.option("--server", default="http://127.0.0.1:8088", show_default=True, metavar="URL", help="The server's address, for CLOUDINARY_URL's upload_prefix.")
@data_dir_option
def keys_show(api_key: str, server: str, data_dir: str | None) -> None:
    """Print a key's secret and its CLOUDINARY_URL.

    `darkroom serve` prints the key's CLOUDINARY_URL with the secret left out, so that logs
    do not collect it; this command is how its owner reads it.
    """
    key = _known_key(_engine(settings_for(data_dir)), api_key)
    if not key.active:
        raise click.ClickException(f"key {api_key} is revoked")
    url = serving.cloudinary_url(key, key.api_secret, server.rstrip("/"))
    click.echo(f"api_key={key.api_key}\napi_secret={key.api_secret}\ncloud={key.cloud}\nCLOUDINARY_URL={url}")


def _known_key(engine: Engine, api_key: str) -> catalog.ApiKey:
    key = catalog.find_key(engine, api_key)
    if key is None:
        raise click.ClickException(f"unknown key {api_key!r} (`darkroom keys list --cloud CLOUD` lists a cloud's keys)")
    return key


@keys.command("revoke")
@click.argument("api_key")
@data_dir_option
def keys_revoke(api_key: str, data_dir: str | None) -> None:
    """Revoke a key: requests signed with it are refused from now on."""
    settings = settings_for(data_dir)
    engine = _engine(settings)
    _known_key(engine, api_key)
    if not catalog.revoke_key(engine, api_key):
        raise click.ClickException(f"key {api_key} is already revoked")
    announce_write_now(settings)  # servers sharing a Redis refuse it at once, not within their lookup TTL
    click.echo(f"revoked {api_key}")


@main.group()
def clouds() -> None:
    """Clouds (tenants) and their settings."""


@clouds.command("create")
@click.argument("cloud")
@data_dir_option
def clouds_create(cloud: str, data_dir: str | None) -> None:
    """Create a cloud (see `keys create` for its keys)."""
    catalog.ensure_cloud(_engine(settings_for(data_dir)), cloud)
    click.echo(f"cloud {cloud}")


@clouds.command("set")
@click.argument("cloud")
@click.option("--strict/--no-strict", "strict", default=None, help="Strict transformations: only signed or allowed transformations render.")
@click.option("--folder-mode", type=click.Choice(FOLDER_MODES), default=None,
              help="Cloudinary's folder mode: dynamic (the asset folder is separate from the public ID) or fixed (the public ID's path is the folder).")
@click.option("--backups/--no-backups", "backups", default=None, help="Keep every version of every asset (restore, versions).")
@click.option("--notification-url", default=None, metavar="URL", help="Webhook for the cloud's notifications when a call names none (\"\" removes it).")
@click.option("--hide-rejected/--show-rejected", "hide_rejected", default=None,
              help="Rejected assets (moderation) answer 404 until approved; shown is Cloudinary's default.")
@data_dir_option
def clouds_set(cloud: str, strict: bool | None, folder_mode: str | None, backups: bool | None, notification_url: str | None,
               hide_rejected: bool | None, data_dir: str | None) -> None:
    """Change a cloud's settings."""
    settings = settings_for(data_dir)
    engine = _engine(settings)
    _known_cloud(engine, cloud)
    if all(value is None for value in (strict, folder_mode, backups, notification_url, hide_rejected)):
        raise click.UsageError("nothing to change: give --strict/--no-strict, --folder-mode, --backups/--no-backups, "
                               "--notification-url or --hide-rejected/--show-rejected")
    if notification_url is not None:
        set_cloud_setting(engine, cloud, "notification_url", notification_url or None)
        click.echo(f"{cloud}: notification URL {notification_url or 'removed'}")
    if hide_rejected is not None:
        set_cloud_setting(engine, cloud, HIDE_REJECTED, hide_rejected or None)
        click.echo(f"{cloud}: rejected assets {'hidden' if hide_rejected else 'delivered'}")
    try:
        if strict is not None:
            catalog.set_strict_transformations(engine, cloud, strict)
            click.echo(f"{cloud}: strict transformations {'on' if strict else 'off'}")
        if folder_mode is not None:
            set_folder_mode(engine, cloud, folder_mode)
            click.echo(f"{cloud}: {folder_mode} folder mode")
        if backups is not None:
            set_backups(engine, cloud, backups)
            click.echo(f"{cloud}: backups {'on' if backups else 'off'}")
    except catalog.CloudNotFound as exc:
        raise click.ClickException(exc.message) from exc
    announce_write_now(settings)


@main.group()
def policies() -> None:
    """Signing policies for /api/sign."""


@policies.command("create")
@cloud_option("The cloud whose key signs.")
@click.option("--name", required=True, metavar="NAME", help="Policy name (replaces one of the same name).")
@click.option("--allow", "allowed", multiple=True, default=("folder", "upload_preset", "public_id", "tags", "context"), show_default=True, help="A parameter the browser may have signed (repeat).")
@click.option("--folder-prefix", default="", help="Force uploads into this folder (or below).")
@click.option("--preset", "presets", multiple=True, help="An upload preset the browser may use (repeat).")
@click.option("--max-skew", default=300, show_default=True, type=int, help="Seconds paramsToSign.timestamp may be off.")
@click.option("--console/--no-console", default=False, help="Also admit signed-in console sessions.")
@data_dir_option
def policies_create(cloud: str, name: str, allowed: tuple[str, ...], folder_prefix: str, presets: tuple[str, ...], max_skew: int, console: bool, data_dir: str | None) -> None:
    """Create a policy and print its bearer token (shown once)."""
    engine = _engine(settings_for(data_dir))
    policy, token = catalog.create_signing_policy(
        engine,
        _known_cloud(engine, cloud),
        name,
        allowed_params=list(allowed),
        folder_prefix=folder_prefix,
        allowed_presets=list(presets),
        max_skew_seconds=max_skew,
        allow_console=console,
    )
    click.echo(f"policy={policy.name}\ntoken={token}")


@policies.command("list")
@cloud_option()
@data_dir_option
def policies_list(cloud: str, data_dir: str | None) -> None:
    """List a cloud's signing policies."""
    engine = _engine(settings_for(data_dir))
    for policy in catalog.list_signing_policies(engine, _known_cloud(engine, cloud)):
        click.echo(f"{policy.name}\tparams={','.join(policy.allowed_params)}\tfolder={policy.folder_prefix or '*'}\tpresets={','.join(policy.allowed_presets) or '*'}")


from darkroom.cli.addons import addons  # noqa: E402
from darkroom.cli.check_urls import check_urls  # noqa: E402
from darkroom.cli.fsck import fsck  # noqa: E402
from darkroom.cli.importing import import_command  # noqa: E402
from darkroom.cli.worker import worker  # noqa: E402
from darkroom.cli.users import tokens, users  # noqa: E402  (the console's command groups)

main.add_command(users)
main.add_command(tokens)
main.add_command(fsck)
main.add_command(worker)
main.add_command(addons)
main.add_command(check_urls)
main.add_command(import_command)
