"""Video delivery: what darkroom adds to an ffmpeg transcode, and its memory while transcoding.

Issue 12's figures, in one run, against a `darkroom serve` this script starts (own data folder
under bench/.work/, `DARKROOM_VIDEO_CONCURRENCY=4` so four transcodes can run at once):

1. **Overhead ratio** (goal ≤ 1.1×): the wall time of a transformed video URL fetched from
   darkroom (a new variant each time: plan, ffmpeg, store, record, stream back) divided by
   the wall time of the very same ffmpeg command (`darkroom.video.plan_transcode`, the
   planner darkroom runs) run directly on the same source file. Pairs alternate which runs
   first, each with its own width so nothing is cached. The ratio of the best times is the
   figure (on a shared machine, a neighbour's load only ever adds time); the medians' ratio
   is printed beside it.
2. **HLS time to first playable segment** (goal < 3 s for a 1080p 60 s source): the
   streaming part's `bench/video_streaming.py`, run from here (`--hls-trials`, 0 skips it).
3. **RSS while four transcodes run**: the server's resident memory (the Python process alone,
   and its whole tree with the ffmpeg children), sampled every 20 ms plus the kernel's
   high-water mark, while four different variants of a longer source render at once.

    .venv/bin/python bench/video.py                  # 720p 10 s source, 5 pairs, one HLS trial
    .venv/bin/python bench/video.py --height 1080 --seconds 20 --pairs 3

Not part of the test suite. Linux only (reads /proc). Exits 1 if the ratio is above `--max-ratio`.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import cloudinary
import cloudinary.uploader
import cloudinary.utils
import httpx

from load import API_KEY, API_SECRET, CLOUD, WORK_DIR, RssSampler, darkroom, process_tree, status_kib

from darkroom.transform import parse
from darkroom.video import SourceFacts, TranscodeRequest, choose_output, plan_transcode, probe_video, run_ffmpeg

TRANSFORMATION = "c_scale,w_{width}/q_auto"  # the width changes per run: every request is a new variant


def make_source(path: pathlib.Path, height: int, seconds: int) -> pathlib.Path:
    """A testsrc2 clip with a tone, H.264/AAC, as a camera or an editor would upload it."""
    width = height * 16 // 9
    run_ffmpeg(
        ["-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate=30:duration={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}:sample_rate=48000",
         "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path)],
        timeout=600,
    )
    return path


def direct_seconds(source: pathlib.Path, width: int, out: pathlib.Path) -> float:
    """The same ffmpeg command darkroom plans for the URL, run directly."""
    info = probe_video(source)
    facts = SourceFacts(info.width, info.height, info.duration, info.frame_rate, info.video is not None, info.audio is not None)
    chain = parse(TRANSFORMATION.format(width=width))
    output = choose_output(chain, requested_format="mp4", source_format=info.format, is_audio=info.is_audio)
    arguments = plan_transcode(TranscodeRequest(source, facts, chain, output)).arguments(out)
    started = time.perf_counter()
    run_ffmpeg(arguments, timeout=900)
    return time.perf_counter() - started


def darkroom_seconds(public_id: str, width: int) -> float:
    """A new variant fetched from darkroom, the whole body received."""
    url, _ = cloudinary.utils.cloudinary_url(public_id, resource_type="video", raw_transformation=TRANSFORMATION.format(width=width), format="mp4")
    started = time.perf_counter()
    with httpx.stream("GET", url, timeout=900) as response:
        if response.status_code != 200:
            raise RuntimeError(f"{url}: {response.status_code} {response.headers.get('x-cld-error')}")
        for _ in response.iter_bytes():
            pass
    return time.perf_counter() - started


def overhead(public_id: str, source: pathlib.Path, pairs: int, work: pathlib.Path) -> float:
    darkroom_seconds(public_id, 638)  # warm-up: first imports, first connection
    direct_seconds(source, 638, work / "direct-warm.mp4")
    direct, served = [], []
    for index in range(pairs):
        width = 640 + 2 * index
        if index % 2:  # alternate which runs first, so a neighbour's load hits both alike
            direct.append(direct_seconds(source, width, work / f"direct-{index}.mp4"))
            served.append(darkroom_seconds(public_id, width))
        else:
            served.append(darkroom_seconds(public_id, width))
            direct.append(direct_seconds(source, width, work / f"direct-{index}.mp4"))
        print(f"  pair {index + 1}: darkroom {served[-1]:.2f} s, ffmpeg directly {direct[-1]:.2f} s", flush=True)
    best = min(served) / min(direct)
    typical = statistics.median(served) / statistics.median(direct)
    print(f"transcode overhead: best darkroom {min(served):.2f} s / best ffmpeg directly {min(direct):.2f} s = {best:.3f}x "
          f"(goal <= 1.1x); medians {statistics.median(served):.2f} s / {statistics.median(direct):.2f} s = {typical:.3f}x")
    return best


def hls_first_segment(trials: int) -> None:
    """Time to the first playable HLS segment of a 1080p 60 s source (goal < 3 s): the
    streaming part's bench (`bench/video_streaming.py`, its own server and source), run here
    so one run prints every figure of the issue."""
    if trials <= 0:
        print("HLS time to first segment: skipped (--hls-trials 0); see bench/video_streaming.py")
        return
    import video_streaming

    print("HLS time to first segment (bench/video_streaming.py):", flush=True)
    video_streaming.main(["--trials", str(trials)])


def rss_while_four_transcode(pid: int, public_id: str) -> None:
    server_kib = status_kib(pid, "VmRSS:")
    tree_kib = sum(status_kib(p, "VmRSS:") for p in process_tree(pid))
    server_peak = [server_kib]

    def watch_server() -> None:
        while not done:
            server_peak[0] = max(server_peak[0], status_kib(pid, "VmRSS:"))
            time.sleep(0.02)

    done = False
    with RssSampler(pid) as tree, ThreadPoolExecutor(5) as pool:
        watcher = pool.submit(watch_server)
        started = time.perf_counter()
        times = list(pool.map(lambda width: darkroom_seconds(public_id, width), (480, 482, 484, 486)))
        done = True
        watcher.result()
    high_water = status_kib(pid, "VmHWM:")
    print(f"four transcodes at once: {time.perf_counter() - started:.1f} s (each {min(times):.1f}-{max(times):.1f} s)")
    print(f"server RSS: {server_kib / 1024:.0f} MiB before, peak {max(server_peak[0], high_water) / 1024:.0f} MiB "
          f"(Python process; +{(max(server_peak[0], high_water) - server_kib) / 1024:.0f} MiB)")
    print(f"server tree RSS with its ffmpeg children: {tree_kib / 1024:.0f} MiB before, peak {tree.peak_kib / 1024:.0f} MiB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--height", type=int, default=720, help="source height (16:9)")
    parser.add_argument("--seconds", type=int, default=10, help="source length")
    parser.add_argument("--pairs", type=int, default=5, help="darkroom/direct pairs for the ratio")
    parser.add_argument("--max-ratio", type=float, default=1.1)
    parser.add_argument("--hls-trials", type=int, default=1, help="runs of the HLS first-segment bench (0: skip it)")
    args = parser.parse_args(argv)
    work = WORK_DIR / "video"
    work.mkdir(parents=True, exist_ok=True)
    source = make_source(work / f"source-{args.height}p-{args.seconds}s.mp4", args.height, args.seconds)
    os.environ["DARKROOM_VIDEO_CONCURRENCY"] = "4"
    with darkroom(work, workers=1) as (process, base):
        os.environ["CLOUDINARY_URL"] = f"cloudinary://{API_KEY}:{API_SECRET}@{CLOUD}?upload_prefix={base}&cname={base.removeprefix('http://')}"
        cloudinary.reset_config()
        public_id = cloudinary.uploader.upload(str(source), resource_type="video", public_id="bench/source")["public_id"]
        print(f"source: {args.height}p, {args.seconds} s, {source.stat().st_size / 1024 / 1024:.1f} MiB; "
              f"transformation {TRANSFORMATION.format(width='N')} to mp4; {os.cpu_count()} cores")
        ratio = overhead(public_id, source, args.pairs, work)
        rss_while_four_transcode(process.pid, public_id)
    hls_first_segment(args.hls_trials)
    return 0 if ratio <= args.max_ratio else 1


if __name__ == "__main__":
    sys.exit(main())
