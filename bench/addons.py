"""Per-image latency and peak memory of each add-on on this machine.

    .venv/bin/python bench/addons.py                  # the shipped models and the no-model paths
    DARKROOM_MODELS_DIR=~/models .venv/bin/python bench/addons.py   # … and your ONNX models too

Each add-on runs in a fresh process (so its peak RSS, `VmHWM`, is its own: model load plus
inference) on scikit-image's photographs: the first call (which loads the model) is timed
apart from the median of the next `--runs`. The baseline is decoding the same image, in the
same way, in a process that loads no model: the add-on's cost is read against it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _photos(folder: Path) -> dict[str, Path]:
    import pyvips
    import skimage.data

    cup = skimage.data.coffee()[60:340, 150:450]
    plain = np.full((400, 420, 3), 245, dtype=np.uint8)
    plain[60:340, 60:360] = cup
    found = {}
    for name, array in (("astronaut", skimage.data.astronaut()), ("coffee", skimage.data.coffee()), ("plain-subject", plain)):
        path = folder / f"{name}.jpg"
        pyvips.Image.new_from_array(np.ascontiguousarray(array)).copy(interpretation="srgb").write_to_file(str(path), Q=90)
        found[name] = path
    return found


def _work(name: str) -> Callable[[Path], Any]:
    """The add-on `name` as a function of an image file (runs in the child process)."""
    from darkroom.addons import ModelCache
    from darkroom.imaging.model_effects import faces_in, load_rgb

    cache = ModelCache(Path(os.environ["DARKROOM_MODELS_DIR"]) if os.environ.get("DARKROOM_MODELS_DIR") else None)
    if name == "baseline (decode)":
        return load_rgb
    if name == "faces (Haar)":
        return lambda path: faces_in(load_rgb(path, max_side=2000))
    if name == "moderation aws_rek (nudenet)":
        from darkroom.addons.moderation import moderate

        return lambda path: moderate(cache, load_rgb(path, max_side=2000))
    if name == "ocr adv_ocr (rapidocr)":
        from darkroom.addons.ocr import read_text

        return lambda path: read_text(cache, load_rgb(path, max_side=2000))
    if name in ("background removal", "upscale", "tagging (classifier)", "detection"):
        from darkroom.addons.detection import detect_objects
        from darkroom.addons.matting import foreground_alpha
        from darkroom.addons.tagging import classify
        from darkroom.addons.upscale import upscale

        run = {"background removal": foreground_alpha, "upscale": upscale, "tagging (classifier)": classify, "detection": detect_objects}[name]
        return lambda path: run(cache, load_rgb(path))
    if name == "tagging (built-in)":
        from darkroom.addons.tagging import builtin_categories

        return lambda path: builtin_categories(load_rgb(path), 0, [])
    raise SystemExit(f"unknown add-on {name}")


def child(name: str, image: Path, runs: int) -> None:
    from darkroom.errors import Invalid

    work = _work(name)
    started = time.perf_counter()
    try:
        work(image)
    except Invalid as error:  # no model, busy background …: reported, not measured
        print(json.dumps({"error": error.message}))
        return
    first = time.perf_counter() - started
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work(image)
        times.append(time.perf_counter() - started)
    peak = next(int(line.split()[1]) for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmHWM:"))
    print(json.dumps({"first": first, "median": statistics.median(times), "peak_kib": peak}))


ADDONS = [
    "baseline (decode)", "faces (Haar)", "moderation aws_rek (nudenet)", "ocr adv_ocr (rapidocr)", "tagging (built-in)",
    "background removal", "tagging (classifier)", "detection", "upscale",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--child", nargs=2, metavar=("ADDON", "IMAGE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), args.runs)
        return
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    print(f"models folder: {os.environ.get('DARKROOM_MODELS_DIR') or '(not set: the shipped models and the no-model paths)'}")
    print(f"{'add-on':32} {'image':14} {'first call':>11} {'median':>9} {'× decode':>9} {'peak RSS':>9}")
    with tempfile.TemporaryDirectory(prefix="darkroom-bench-addons-") as folder:
        photos = _photos(Path(folder))
        baseline: dict[str, float] = {}
        for name in ADDONS:
            for label, image in photos.items():
                out = subprocess.run([sys.executable, __file__, "--runs", str(args.runs), "--child", name, str(image)],
                                     env=env, capture_output=True, text=True, timeout=600, check=True)
                result = json.loads(out.stdout.strip().splitlines()[-1])
                if "error" in result:
                    print(f"{name:32} {label:14} not run: {result['error'][:80]}")
                    continue
                if name.startswith("baseline"):
                    baseline[label] = result["median"]
                ratio = result["median"] / baseline[label] if baseline.get(label) else float("nan")
                print(f"{name:32} {label:14} {result['first'] * 1000:9.0f}ms {result['median'] * 1000:7.0f}ms {ratio:8.1f}x"
                      f" {result['peak_kib'] // 1024:6d} MiB")


if __name__ == "__main__":
    main()
