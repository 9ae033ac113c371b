"""JPEG and WebP entropy coding: libvips' bundled encoders against Pillow's, same settings.

    .venv/bin/python bench/encoders.py            # 3 alternating rounds
    .venv/bin/python bench/encoders.py --rounds 5

The images are what darkroom encodes in bench/transforms.py (the 1024×768 PNG filled to
w×300, 40 widths from the band) and four real photos from scikit-image at 200–500×300. Each
round encodes every image with libvips (`jpegsave_buffer` / `webpsave_buffer`, darkroom's
settings before `imaging/encoders.py`) and with `darkroom.imaging.encoders.try_encode`,
alternating, in one thread with libvips' operation cache off. Prints CPU per encode, total
bytes, and Pillow ÷ libvips for both; says whether the WebP files were byte-identical.
Last, the same Pillow encodes split over two threads against one: a wall-time ratio near 0.5
means the encoder lets go of the GIL (so the event loop and other renders keep running).
"""

from __future__ import annotations

import argparse
import resource
import sys
import threading
import time
from pathlib import Path

import pyvips

sys.path.insert(0, str(Path(__file__).resolve().parent))
import transforms  # noqa: E402  (the benchmark sources)

from darkroom.imaging import encoders  # noqa: E402


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def derivatives() -> dict[str, list[pyvips.Image]]:
    from skimage import data

    graphic = transforms.synthesize_sources(transforms.WORK_DIR / "transforms-sources")["graphic"]
    source = pyvips.Image.new_from_file(str(graphic)).copy_memory()
    sets = {"bench PNG": [source.thumbnail_image(w, height=300, crop="centre").copy_memory() for w in transforms.widths(0, 40)]}
    photos = []
    for name in ("astronaut", "chelsea", "coffee", "rocket"):
        photo = pyvips.Image.new_from_array(getattr(data, name)(), interpretation="srgb").cast("uchar")
        photos += [photo.thumbnail_image(w, height=300, crop="centre").copy_memory() for w in (200, 300, 400, 500)]
    sets["photos"] = photos
    return sets


def with_libvips(image: pyvips.Image, fmt: str) -> bytes:
    if fmt == "webp":
        return bytes(image.webpsave_buffer(Q=80, effort=2, smart_subsample=False, keep="none"))
    return bytes(image.jpegsave_buffer(Q=80, optimize_coding=True, keep="none"))


def with_pillow(image: pyvips.Image, fmt: str) -> bytes:
    data = encoders.try_encode(image, fmt, 80, progressive=False, keep="none", chroma=None)
    assert data is not None
    return data


def timed(encode, images: list[pyvips.Image], fmt: str) -> tuple[float, int, list[bytes]]:  # type: ignore[no-untyped-def]
    started = cpu_seconds()
    files = [encode(image, fmt) for image in images]
    return (cpu_seconds() - started) * 1000 / len(images), sum(map(len, files)), files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    pyvips.cache_set_max(0)
    sets = derivatives()
    print(f"libvips {pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}; {args.rounds} rounds, alternating\n")
    print("| images | format | libvips ms/encode | Pillow ms/encode | Pillow ÷ libvips CPU | bytes ratio | identical |")
    print("|---|---|---:|---:|---:|---:|---|")
    for name, images in sets.items():
        for fmt in ("jpg", "webp"):
            ours, theirs, same = [], [], True
            for _ in range(args.rounds):
                vips_ms, vips_bytes, vips_files = timed(with_libvips, images, fmt)
                pil_ms, pil_bytes, pil_files = timed(with_pillow, images, fmt)
                theirs.append(vips_ms)
                ours.append(pil_ms)
                same = same and vips_files == pil_files
            vips_ms, pil_ms = min(theirs), min(ours)
            print(f"| {name} ({len(images)}) | {fmt} | {vips_ms:.2f} | {pil_ms:.2f} | {pil_ms / vips_ms:.2f} | "
                  f"{pil_bytes / vips_bytes:.4f} | {'yes' if same else 'no'} |")
    print_gil_release(sets)


def two_threads_over_one(images: list[pyvips.Image], fmt: str) -> float:
    """Wall time of encoding `images` in two threads ÷ in one (each image twice, to be long enough)."""
    work = images * 2

    def encode_all(part: list[pyvips.Image]) -> None:
        for image in part:
            with_pillow(image, fmt)

    started = time.perf_counter()
    encode_all(work)
    one = time.perf_counter() - started
    threads = [threading.Thread(target=encode_all, args=(work[i::2],)) for i in range(2)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return (time.perf_counter() - started) / one


def print_gil_release(sets: dict[str, list[pyvips.Image]]) -> None:
    print("\n| format | Pillow: 2 threads ÷ 1 thread, wall time (≈0.5: the GIL is released) |\n|---|---:|")
    for fmt in ("jpg", "webp"):
        print(f"| {fmt} | {two_threads_over_one(sets['bench PNG'], fmt):.2f} |")


if __name__ == "__main__":
    main()
