"""`darkroom addons`: which add-ons can run on this machine, and why the others cannot.

Your ONNX files in DARKROOM_MODELS_DIR are loaded for real, so a file that is present but broken
is reported here, not at the first request; the packages' shipped models are probed by import.
"""

from __future__ import annotations

import click

from darkroom.addons import ModelCache, availability
from darkroom.cli.options import data_dir_option, settings_for

__all__ = ["addons"]


@click.command("addons")
@data_dir_option
def addons(data_dir: str | None) -> None:
    """Which add-ons can run here, and why not.

    Moderation, OCR, background removal, tagging, upscaling, detection: each model is
    looked for (DARKROOM_MODELS_DIR and the packages that ship one) and loaded.
    """
    settings = settings_for(data_dir)
    click.echo(f"models folder (DARKROOM_MODELS_DIR): {settings.models_dir or '(not set)'}")
    for item in availability(ModelCache(settings.models_dir)):
        mark = "yes" if item.available else "no "
        click.echo(f"  {mark}  {item.addon}: {item.why}")
