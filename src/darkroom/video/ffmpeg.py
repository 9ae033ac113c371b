"""Running the ffmpeg that the `imageio-ffmpeg` wheel ships: bounded in time, no shell.

    run_ffmpeg(["-i", "in.mp4", "-c:v", "libx264", "out.mp4"], timeout=60)

ffmpeg runs as a child process (its own memory, its own threads), started with an argument
list (never through a shell, so no file name or URL text is ever interpreted). Its stderr is
kept (the last lines only) and turned into an error a client can read; a run past its
time limit is killed. Nothing is downloaded: the binary is the wheel's.

Errors:

    DarkroomError
    └── Invalid
        ├── TranscodeFailed       ffmpeg refused the input or the arguments (400)
        └── TooLarge
            └── TranscodeTimedOut ffmpeg ran past its time limit and was killed (400, as
                                  Cloudinary answers a video too large to transform at once)
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import threading
from collections import deque
from collections.abc import Sequence

from darkroom.errors import Invalid, TooLarge

__all__ = ["TranscodeFailed", "TranscodeTimedOut", "ffmpeg_command", "ffmpeg_exe", "kill_running", "run_ffmpeg"]

_STDERR_LINES = 20  # last lines of ffmpeg's log kept for the error's detail


class TranscodeFailed(Invalid):
    """ffmpeg exited with an error: a broken source, or an output it cannot make."""


class TranscodeTimedOut(TooLarge):
    """ffmpeg ran past its time limit and was killed."""


@functools.cache
def ffmpeg_exe() -> str:
    """The path of the wheel's ffmpeg binary (looked up once)."""
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def ffmpeg_command(args: Sequence[str]) -> list[str]:
    """The whole command line for `args`: quiet but for errors, never asking on stdin, overwriting."""
    return [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args]


def run_ffmpeg(args: Sequence[str], *, timeout: float, low_priority: bool = False) -> None:
    """Run ffmpeg with `args` (blocking: call it in a worker thread) and wait at most `timeout` s.

    `low_priority` work (stream segments made ahead of a player) runs niced, so the encode
    someone is waiting for gets the cores first. Raises TranscodeFailed with ffmpeg's last
    error line on a non-zero exit, and TranscodeTimedOut after killing a run that took too long.
    """
    command = ffmpeg_command(args)
    nice = shutil.which("nice") if low_priority else None
    if nice is not None:
        command = [nice, "-n", "10", *command]
    # In the server's process group: stopping the server (a terminal's Ctrl-C, a supervisor
    # signalling the group) stops its transcodes too, instead of orphaning them.
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    with _RUNNING_LOCK:
        _RUNNING.add(process)
    try:
        _, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(process)
        raise TranscodeTimedOut(
            "Video is too large to process synchronously, please use an eager transformation with eager_async=true to resolve",
            detail=f"ffmpeg ran over {timeout:.0f} s",
        ) from None
    except BaseException:
        _kill(process)
        raise
    finally:
        with _RUNNING_LOCK:
            _RUNNING.discard(process)
    if process.returncode != 0:
        lines = deque(stderr.decode("utf-8", "replace").splitlines(), maxlen=_STDERR_LINES)
        raise TranscodeFailed(_public_message(lines), detail="\n".join(lines))


# ffmpeg processes running now (from any thread), so a shutdown can stop what it will not wait for.
_RUNNING: set[subprocess.Popen[bytes]] = set()
_RUNNING_LOCK = threading.Lock()


def kill_running() -> int:
    """Kill every ffmpeg this process started that is still running; how many. Their callers
    get TranscodeFailed (a shutdown that waited long enough for them already)."""
    with _RUNNING_LOCK:
        running = list(_RUNNING)
    for process in running:
        process.kill()
    return len(running)


def _kill(process: subprocess.Popen[bytes]) -> None:
    process.kill()
    process.communicate()


def _public_message(lines: deque[str]) -> str:
    """A short message for the client: ffmpeg's last meaningful line names what failed."""
    meaningful = [line.strip() for line in lines if line.strip() and not line.startswith("  ")]
    last = meaningful[-1] if meaningful else "unknown error"
    return f"Video transformation failed: {_FILE_PATH.sub('<file>', last)[:200]}"


# Spool and store paths in ffmpeg's messages are this server's business, not the client's.
_FILE_PATH = re.compile(r"/[^\s'\":,]+")
