"""More of what a picture looks like in numbers: colour-blind accessibility, how much of an
animation moves (a cinemagraph), and the features `visual_search` ranks by.

Answers the Admin API's `accessibility_analysis` and `cinemagraph_analysis` on a resource, and
the feature vector darkroom keeps for `visual_search`. These are darkroom's own measures in
Cloudinary's reply shapes (Cloudinary does not publish its models); each is documented where
it is computed. Synchronous and CPU-bound: call from a worker thread.

    image = metrics.load_for_analysis("photo.jpg")
    accessibility(image)   # {"colorblind_accessibility_analysis": {…}, "colorblind_accessibility_score": 0.87}
    cinemagraph_score("loop.gif")  # 0.0 for a still, up to 1.0 for a loop where a small part moves
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pyvips

from darkroom.imaging.errors import InvalidImage
from darkroom.imaging.metrics import colors, hamming, load_for_analysis, phash, pixels

__all__ = ["accessibility", "cinemagraph_score", "visual_distance", "visual_features"]

# Deuteranopia (the commonest colour blindness) as a linear map on sRGB values, after
# Viénot, Brettel and Mollon (1999): what a deuteranope cannot tell apart collapses together.
_DEUTERANOPIA = np.array([[0.29275, 0.70725, 0.0], [0.29275, 0.70725, 0.0], [-0.02234, 0.02234, 1.0]])
_DISTINCT = 40.0  # RGB distance below which two colours read as one


def _simulated(rgb: np.ndarray) -> np.ndarray:
    return np.clip(rgb @ _DEUTERANOPIA.T, 0, 255)  # type: ignore[no-any-return]


def accessibility(image: pyvips.Image) -> dict[str, Any]:
    """Cloudinary's `accessibility_analysis` shape, measured for deuteranopia:

    - `distinct_edges`: the share of the picture's edge energy a colour-blind viewer still sees;
    - `distinct_colors`: the share of pairs of main colours, distinct to anyone, that stay distinct;
    - `most_indistinct_pair`: the two main colours closest together for that viewer;
    - `colorblind_accessibility_score`: the mean of the two shares.
    """
    rgb = pixels(image).astype(np.float64)
    seen = _simulated(rgb)
    edges = _edge_energy(rgb)
    distinct_edges = 1.0 if edges == 0 else min(_edge_energy(seen) / edges, 1.0)
    palette = [str(hex_value) for hex_value, _ in colors(image, limit=8)]
    values = np.array([[int(h[i : i + 2], 16) for i in (1, 3, 5)] for h in palette], dtype=np.float64)
    pairs = [(a, b) for a in range(len(palette)) for b in range(a + 1, len(palette))
             if np.linalg.norm(values[a] - values[b]) >= _DISTINCT]
    seen_values = _simulated(values)
    kept = [pair for pair in pairs if np.linalg.norm(seen_values[pair[0]] - seen_values[pair[1]]) >= _DISTINCT]
    distinct_colors = 1.0 if not pairs else len(kept) / len(pairs)
    closest = min(pairs, key=lambda pair: float(np.linalg.norm(seen_values[pair[0]] - seen_values[pair[1]])), default=None)
    analysis: dict[str, Any] = {"distinct_edges": round(distinct_edges, 2), "distinct_colors": round(distinct_colors, 2)}
    if closest is not None:
        analysis["most_indistinct_pair"] = [palette[closest[0]], palette[closest[1]]]
    return {"colorblind_accessibility_analysis": analysis,
            "colorblind_accessibility_score": round((distinct_edges + distinct_colors) / 2, 2)}


def _edge_energy(rgb: np.ndarray) -> float:
    luma = rgb @ np.array([0.2126, 0.7152, 0.0722])
    chroma = rgb - luma[..., None]
    signal = np.concatenate([luma[..., None], chroma], axis=2)
    return float(np.abs(np.diff(signal, axis=0)).sum() + np.abs(np.diff(signal, axis=1)).sum())


MAX_FRAMES = 64  # frames compared for `cinemagraph_score`


def cinemagraph_score(path: str | os.PathLike[str]) -> float:
    """How much the file looks like a cinemagraph (a still picture where a small part moves):
    0 for a still image or an animation where nothing moves, highest when a tenth to a third
    of the picture moves, falling towards 0 as the whole frame moves."""
    try:
        first = pyvips.Image.new_from_file(str(path))
        pages = int(first.get("n-pages")) if "n-pages" in first.get_fields() else 1
        if pages < 2:
            return 0.0
        count = min(pages, MAX_FRAMES)
        strip = pyvips.Image.new_from_file(str(path), n=count)
        height = strip.get("page-height") if "page-height" in strip.get_fields() else strip.height // count
        scale = min(1.0, 128 / max(strip.width, height))
        if scale < 1.0:
            strip = strip.resize(scale, vscale=scale)
            height = strip.height // count
        if strip.hasalpha():
            strip = strip.flatten(background=[255] * (strip.bands - 1))
        strip = strip.colourspace("srgb").extract_band(0, n=3).copy_memory()
    except pyvips.Error as error:
        raise InvalidImage("Image could not be analysed", detail=str(error)) from None
    stack = pixels(strip).astype(np.int16)[: height * count].reshape(count, height, strip.width, 3)
    moving = float((np.abs(stack - stack[0]).max(axis=(0, 3)) > 24).mean())
    if moving < 0.01:
        return 0.0
    if moving <= 0.33:
        return round(min(1.0, 0.6 + moving * 4), 2)
    return round(max(0.0, 1.0 - moving), 2)


def visual_features(path: str | os.PathLike[str]) -> dict[str, Any]:
    """What `visual_search` compares: the perceptual hash and the main colours with their shares."""
    image = load_for_analysis(path)
    return {"phash": phash(image), "colors": colors(image, limit=8)}


def visual_distance(first: dict[str, Any], second: dict[str, Any]) -> float:
    """0 for the same picture, about 1 for unrelated ones: darkroom's own ranking, 60% the
    perceptual hashes' Hamming distance, 40% how differently the colours are spread."""
    shape = hamming(str(first["phash"]), str(second["phash"])) / 64
    return round(0.6 * shape + 0.4 * _colour_distance(first["colors"], second["colors"]), 4)


def _colour_distance(first: list[list[Any]], second: list[list[Any]]) -> float:
    """Earth-mover-like: each colour's share matched to the nearest colour of the other list."""
    def spread(items: list[list[Any]]) -> list[tuple[np.ndarray, float]]:
        return [(np.array([int(str(h)[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.float64), float(p) / 100) for h, p in items]

    a, b = spread(first), spread(second)
    if not a or not b:
        return 1.0
    nearest_ab = sum(share * min(float(np.linalg.norm(rgb - other)) for other, _ in b) for rgb, share in a)
    nearest_ba = sum(share * min(float(np.linalg.norm(rgb - other)) for other, _ in a) for rgb, share in b)
    return min(1.0, (nearest_ab + nearest_ba) / 2 / 441.7)  # 441.7: black to white
