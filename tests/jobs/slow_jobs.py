"""A job kind for the tests only: imported by the test that starts `darkroom worker` with it.

`test.slow` writes "start" to the file `marks`, sleeps `seconds`, then writes "done" — so a
test can kill the worker between the two and see whether the job is finished later.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio

from darkroom.media.services import Services
from darkroom.media.tasks import job_handler


@job_handler("test.slow")
async def slow(_services: Services, payload: dict[str, Any]) -> None:
    marks = Path(payload["marks"])
    with marks.open("a") as handle:
        handle.write("start\n")
    await anyio.sleep(float(payload["seconds"]))
    with marks.open("a") as handle:
        handle.write("done\n")
