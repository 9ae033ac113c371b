"""Options shared by many commands (a module of its own so that `cli.users` need not import `cli`)."""

from __future__ import annotations

from pathlib import Path

import click

from darkroom.config import Settings, SettingsError

__all__ = ["data_dir_option", "settings_for"]

data_dir_option = click.option("--data-dir", default=None, metavar="DIR", help="Data folder (default: $DARKROOM_DATA_DIR or ./data).")


def settings_for(data_dir: str | None) -> Settings:
    """The environment's settings, with `--data-dir` when given; a bad setting is a usage error."""
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc
    return settings.with_changes(data_dir=Path(data_dir)) if data_dir else settings
