"""Options shared by many commands (a module of its own so that `cli.users` need not import `cli`)."""

from __future__ import annotations

import click

__all__ = ["data_dir_option"]

data_dir_option = click.option("--data-dir", default=None, metavar="DIR", help="Data folder (default: $DARKROOM_DATA_DIR or ./data).")
