"""Small helpers for the add-on tests: delivery through the SDK's own URLs, pixels of replies."""

from __future__ import annotations

import secrets
from typing import Any

import cloudinary.utils
import httpx
import numpy as np
import pyvips


def new_id(prefix: str) -> str:
    return f"addons/{prefix}-{secrets.token_hex(4)}"


def url_for(public_id: str, **options: Any) -> str:
    return str(cloudinary.utils.cloudinary_url(public_id, **options)[0])


def fetch(public_id: str, **options: Any) -> httpx.Response:
    return httpx.get(url_for(public_id, **options), timeout=60)


def pixels(data: bytes) -> np.ndarray:
    image = pyvips.Image.new_from_buffer(data, "")
    return np.asarray(image.numpy(), dtype=np.float32)


def rendered(public_id: str, **options: Any) -> np.ndarray:
    response = fetch(public_id, **options)
    assert response.status_code == 200, response.text
    return pixels(response.content)
