"""`e_ordered_dither[:level 0-18, 0]`: ImageMagick's ordered dithers, which Cloudinary's
levels name in order: each colour channel becomes on or off by comparing it with a
threshold map tiled over the picture.

    0 threshold   1 checks   2-5 Bayer 2×2, 3×3, 4×4, 8×8
    6-8 angled halftone 4, 6, 8   9-12 orthogonal halftone 4, 6, 8, 16
    13-18 circles 5, 6, 7, black then white on each size

The maps are built here: a Bayer map by its recursion, a halftone or circle by ranking the
cells of one tile by their distance to the dot's centre.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import pyvips

from darkroom.imaging.effects.base import EffectContext, on_color
from darkroom.transform import Effect

__all__ = ["ordered_dither", "threshold_map"]

Grid = list[list[float]]


def _ranked(size: int, distance: Callable[[float, float], float]) -> Grid:
    """Thresholds 0-1 for a size×size tile, cells ranked by `distance(x, y)` (nearest first)."""
    cells = sorted((distance(x + 0.5, y + 0.5), y * size + x) for y in range(size) for x in range(size))
    grid = [[0.0] * size for _ in range(size)]
    for rank, (_, index) in enumerate(cells):
        grid[index // size][index % size] = (rank + 0.5) / (size * size)
    return grid


def _bayer(size: int) -> Grid:
    grid = [[0]]
    while len(grid) < size:
        n = len(grid)
        grid = [[4 * grid[y % n][x % n] + (0, 2, 3, 1)[(y // n) * 2 + (x // n)] for x in range(2 * n)] for y in range(2 * n)]
    cells = size * size
    return [[(value + 0.5) / cells for value in row] for row in grid]


def _orthogonal(size: int) -> Grid:
    centre = size / 2
    return _ranked(size, lambda x, y: math.hypot(x - centre, y - centre))


def _angled(size: int) -> Grid:
    """Dots at the tile's centre and corners: a screen turned 45 degrees."""
    centre = size / 2

    def nearest(x: float, y: float) -> float:
        corners = min(math.hypot(x - cx, y - cy) for cx in (0, size) for cy in (0, size))
        return min(math.hypot(x - centre, y - centre), corners)

    return _ranked(size, nearest)


def _circle(size: int, white: bool) -> Grid:
    grid = _orthogonal(size)
    return [[1 - value for value in row] for row in grid] if white else grid


_MAPS: dict[int, Callable[[], Grid]] = {
    0: lambda: [[0.5]],
    1: lambda: [[1 / 3, 2 / 3], [2 / 3, 1 / 3]],
    2: lambda: _bayer(2),
    3: lambda: [[v / 9 + 1 / 18 for v in row] for row in ([2, 6, 4], [5, 0, 1], [8, 3, 7])],
    4: lambda: _bayer(4),
    5: lambda: _bayer(8),
    6: lambda: _angled(4),
    7: lambda: _angled(6),
    8: lambda: _angled(8),
    9: lambda: _orthogonal(4),
    10: lambda: _orthogonal(6),
    11: lambda: _orthogonal(8),
    12: lambda: _orthogonal(16),
    13: lambda: _circle(5, False),
    14: lambda: _circle(5, True),
    15: lambda: _circle(6, False),
    16: lambda: _circle(6, True),
    17: lambda: _circle(7, False),
    18: lambda: _circle(7, True),
}


@functools.cache
def threshold_map(level: int) -> tuple[tuple[float, ...], ...]:
    """The level's tile of thresholds, 0-1."""
    return tuple(tuple(row) for row in _MAPS[level]())


def ordered_dither(image: pyvips.Image, effect: Effect, ctx: EffectContext) -> pyvips.Image:
    tile = threshold_map(effect.integer(0, 0))

    def run(rgb: pyvips.Image) -> pyvips.Image:
        cell = pyvips.Image.new_from_list([[value * 255 for value in row] for row in tile])
        across, down = -(-rgb.width // cell.width), -(-rgb.height // cell.height)
        thresholds = cell.replicate(across, down).crop(0, 0, rgb.width, rgb.height)
        return (rgb > thresholds).ifthenelse(255, 0)

    return on_color(run)(image)
