"""Add-on fixtures: real photographs from scikit-image, a darkroom with generated tiny ONNX
models in its DARKROOM_MODELS_DIR, and clouds of their own for the SDK."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import pyvips
import skimage.data
from support import LiveServer, own_sqlite_server, sdk_pointed_at

from addons import models


def _jpeg(array: np.ndarray, path: Path) -> Path:
    pyvips.Image.new_from_array(np.ascontiguousarray(array)).copy(interpretation="srgb").write_to_file(str(path), Q=90)
    return path


@pytest.fixture(scope="session")
def astronaut(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The astronaut portrait (512×512): one face, a busy background."""
    return _jpeg(skimage.data.astronaut(), tmp_path_factory.mktemp("photos") / "astronaut.jpg")


@pytest.fixture(scope="session")
def coffee(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The coffee cup (600×400)."""
    return _jpeg(skimage.data.coffee(), tmp_path_factory.mktemp("photos") / "coffee.jpg")


@pytest.fixture(scope="session")
def subject_on_plain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real photograph's subject (the coffee cup's centre) on a plain white studio background."""
    cup = skimage.data.coffee()[60:340, 150:450]
    canvas = np.full((400, 420, 3), 245, dtype=np.uint8)
    canvas[60:340, 60:360] = cup
    return _jpeg(canvas, tmp_path_factory.mktemp("photos") / "plain.jpg")


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return models.all_models(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="session")
def model_server(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[LiveServer]:
    """A darkroom whose DARKROOM_MODELS_DIR holds the tiny generated models."""
    yield from own_sqlite_server(tmp_path_factory, "addons-models", extra_env={"DARKROOM_MODELS_DIR": str(models_dir)})


@pytest.fixture
def with_models(model_server: LiveServer) -> Iterator[LiveServer]:
    with sdk_pointed_at(model_server):
        yield model_server
