"""Source images for render tests, written once per session to a temp folder."""

from __future__ import annotations

from pathlib import Path

import pytest
import pyvips


def _gradient(width: int, height: int) -> pyvips.Image:
    """A colourful, non-uniform picture (so crops and effects are visible in the numbers)."""
    xy = pyvips.Image.xyz(width, height)
    red = xy.extract_band(0) * 255 / width
    green = xy.extract_band(1) * 255 / height
    blue = (red + green) / 2
    return red.bandjoin([green, blue]).cast("uchar").copy(interpretation="srgb")


@pytest.fixture(scope="session")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder: Path = tmp_path_factory.mktemp("images")
    paths: dict[str, str] = {}

    photo = _gradient(400, 300)
    paths["jpg"] = str(folder / "photo.jpg")
    photo.jpegsave(paths["jpg"], Q=95)

    paths["gradient_png"] = str(folder / "gradient.png")  # varied pixels, decoded at full size
    photo.pngsave(paths["gradient_png"])

    grey_card = (pyvips.Image.black(400, 300) + [128, 128, 128]).cast("uchar").copy(interpretation="srgb")
    paths["grey"] = str(folder / "grey.png")
    grey_card.pngsave(paths["grey"])

    logo = (pyvips.Image.black(50, 50) + [255, 0, 0, 255]).cast("uchar").copy(interpretation="srgb")
    paths["logo"] = str(folder / "logo.png")
    logo.pngsave(paths["logo"])

    alpha = _gradient(200, 100).bandjoin(pyvips.Image.black(200, 100).draw_rect(255, 50, 25, 100, 50, fill=True).cast("uchar"))
    paths["alpha_png"] = str(folder / "alpha.png")
    alpha.pngsave(paths["alpha_png"])

    frames = [(pyvips.Image.black(120, 80) + colour).cast("uchar") for colour in ([255, 0, 0], [0, 255, 0], [0, 0, 255])]
    animation = pyvips.Image.arrayjoin(frames, across=1).copy(interpretation="srgb")
    animation.set_type(pyvips.GValue.gint_type, "page-height", 80)
    animation.set_type(pyvips.GValue.array_int_type, "delay", [100, 100, 100])
    paths["gif"] = str(folder / "anim.gif")
    animation.gifsave(paths["gif"])

    from skimage import data

    astronaut = pyvips.Image.new_from_array(data.astronaut(), interpretation="srgb")
    paths["astronaut"] = str(folder / "astronaut.jpg")
    astronaut.jpegsave(paths["astronaut"], Q=92)
    return paths
