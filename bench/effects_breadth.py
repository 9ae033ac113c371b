"""The cost of the effects added for issue 14, against a plain re-encode, in one run.

    .venv/bin/python bench/effects_breadth.py [--size 1080] [--repeat 3]

Renders a photo (scikit-image's astronaut, scaled to `--size` px wide) through each effect
in-process with `imaging.render` (PNG out, no cache), takes the best of `--repeat` runs, and
prints milliseconds and the ratio to no transformation at all (decode, encode as PNG),
measured in the same run so the machine's speed cancels out.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pyvips
from skimage import data

from darkroom.imaging import RenderRequest, render
from darkroom.transform import parse

BASELINE = ""  # a format change only: decode, encode as PNG
EFFECTS = [
    "e_sepia", "e_blur", "e_blur:2000", "e_art:al_dente", "e_art:zorro", "e_fill_light", "e_contrast:level_50",
    "e_distort:40:25:900:60:860:500:35:560", "e_distort:arc:180", "e_redeye", "e_ordered_dither:5",
    "e_simulate_colorblind", "e_assist_colorblind:50", "e_assist_colorblind:xray", "e_theme:color_black",
    "e_vectorize", "e_vectorize:30:1000:0",
]


def _best(path: str, chain: str, repeat: int, fmt: str = "png") -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        render(RenderRequest(path, parse(chain), source_format="jpg", requested_format=fmt))
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1080)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "photo.jpg")
        photo = pyvips.Image.new_from_array(data.astronaut(), interpretation="srgb")
        photo.resize(args.size / photo.width).jpegsave(path, Q=90)
        baseline = _best(path, BASELINE, args.repeat)
        print(f"{'transformation':42} {'ms':>8} {'× baseline':>11}")
        print(f"{'(no transformation)':42} {baseline:8.0f} {1:11.1f}")
        for chain in EFFECTS:
            took = _best(path, chain, args.repeat)
            print(f"{chain:42} {took:8.0f} {took / baseline:11.1f}")
        svg = _best(path, "e_vectorize", args.repeat, "svg")
        print(f"{'e_vectorize (.svg)':42} {svg:8.0f} {svg / baseline:11.1f}")


if __name__ == "__main__":
    main()
