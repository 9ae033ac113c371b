"""Decompression bombs and hostile SVGs, built by the tests (see hostile.py).

A file whose header claims more pixels than the limit is refused from the header, before
any decode, and nothing is stored. A file within the limits but built to amplify (many
frames, a 1000:1 PNG, an SVG with a vast viewBox) is stored and rendered, or refused —
never a 5xx and never a hang. An SVG never makes darkroom read a file or the network.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator

import pytest

from tests.security import hostile
from tests.security.conftest import Attacker, assert_refused, unique

TOO_LARGE = "Image is too large"
INVALID = "Invalid image file"

# (name, builder, the refusal's wording): claims beyond the 100-megapixel default.
BOMBS: list[tuple[str, Callable[[], bytes], str]] = [
    ("png claiming 100000x100000", lambda: hostile.png_claiming(100_000, 100_000), TOO_LARGE),
    ("png claiming 2^31-1 square", lambda: hostile.png_claiming(2**31 - 1, 2**31 - 1), ""),
    ("png claiming 1x200000000", lambda: hostile.png_claiming(1, 200_000_000), ""),  # libpng's own row limit may speak first
    ("png of zeros 12000x12000 (140 KB, 1000:1)", lambda: hostile.png_bomb(12_000, 12_000), TOO_LARGE),
    ("gif claiming 65535x65535", lambda: hostile.gif_claiming(65_535, 65_535), TOO_LARGE),
    ("webp canvas claiming 16384x16384", lambda: hostile.webp_claiming(16_384, 16_384), ""),
    ("svg of 100000x100000", lambda: hostile.svg_sized(100_000, 100_000), TOO_LARGE),
    ("svg with an external entity to /etc/passwd", lambda: hostile.svg_external_entity("file:///etc/passwd"), ""),
    ("svg with billion laughs", hostile.svg_billion_laughs, ""),
]


@pytest.mark.parametrize(("name", "build", "wording"), BOMBS, ids=[name for name, _, _ in BOMBS])
def test_bomb_is_refused_from_its_header_and_stores_nothing(attacker: Attacker, name: str, build: Callable[[], bytes], wording: str) -> None:
    public_id = unique("bomb")
    message = assert_refused(attacker.upload(build(), public_id=public_id, filename="bomb"))
    assert wording in message and (TOO_LARGE in message or INVALID in message), message
    assert not attacker.is_stored(public_id)
    assert not [n for n in attacker.spool_leftovers() if n.startswith(("upload-", "fetch-"))]


def _stored_and_rendered(attacker: Attacker, data: bytes, transformations: list[str]) -> list[int]:
    """Upload `data`; if it is stored, render it each way. Statuses of everything; no 5xx allowed."""
    public_id = unique("amplify")
    response = attacker.upload(data, public_id=public_id)
    assert response.status_code < 500, response.text
    if response.status_code != 200:
        assert_refused(response)
        assert not attacker.is_stored(public_id)
        return [response.status_code]
    statuses = [200]
    for transformation in transformations:
        delivered = attacker.get(f"/{attacker.server.cloud}/image/upload/{transformation}/{public_id}")
        assert delivered.status_code < 500, f"{transformation}: {delivered.status_code} {delivered.text[:200]}"
        statuses.append(delivered.status_code)
    return statuses


RENDERS = ["w_100", "w_100,h_100,c_fill", "e_blur:200", "pg_2"]


AMPLIFIERS: dict[str, Callable[[], bytes]] = {
    "gif of 300 frames of 100x100": lambda: hostile.gif_many_frames(100, 100, 300),
    "png of zeros 9000x9000 (80 KB)": lambda: hostile.png_bomb(9_000, 9_000),
    "svg with a viewBox of 1e30": lambda: hostile.svg_sized(64, 64, "0 0 1e30 1e30"),
    "svg of 9000x9000": lambda: hostile.svg_sized(9_000, 9_000),
    "webp canvas 4000x4000 around one pixel": lambda: hostile.webp_claiming(4_000, 4_000),
}


@pytest.mark.parametrize("name", AMPLIFIERS)
def test_amplifier_within_limits_is_rendered_or_refused(attacker: Attacker, name: str) -> None:
    build = AMPLIFIERS[name]
    statuses = _stored_and_rendered(attacker, build(), RENDERS)
    assert statuses[0] in (200, 400), statuses


def test_many_frame_gif_delivers_as_gif_and_as_its_pages(attacker: Attacker) -> None:
    public_id = unique("frames")
    response = attacker.upload(hostile.gif_many_frames(64, 64, 200), public_id=public_id)
    assert response.status_code == 200, response.text
    assert response.json().get("pages") in (None, 200)
    # 64×64×200 frames is 3 MB decoded: well within the limits, so every page renders.
    for path, expected in ((f"w_32/{public_id}.gif", 200), (f"pg_150/{public_id}.png", 200), (f"pg_999/{public_id}.png", (400, 404))):
        delivered = attacker.get(f"/{attacker.server.cloud}/image/upload/{path}")
        assert delivered.status_code in (expected if isinstance(expected, tuple) else (expected,)), f"{path}: {delivered.status_code} {delivered.text[:200]}"


# ---- SVGs that reach out ----------------------------------------------------------------


@pytest.fixture
def listener() -> Iterator[tuple[int, list[bytes]]]:
    """A TCP port on 127.0.0.1 that records whatever connects to it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    received: list[bytes] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                continue
            with connection:
                connection.settimeout(1)
                try:
                    received.append(connection.recv(4096) or b"(connected)")
                except OSError:
                    received.append(b"(connected)")

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], received
    stop.set()
    thread.join(timeout=2)
    server.close()


def _svg_reaching(port: int) -> dict[str, bytes]:
    here = f"http://127.0.0.1:{port}/x.png"
    return {
        "xlink to http://127.0.0.1": hostile.svg_linking(here),
        "xlink to file:///etc/passwd": hostile.svg_linking("file:///etc/passwd"),
        "xlink to file:// of the data folder": hostile.svg_linking("file:///proc/self/environ"),
        "external entity over http": hostile.svg_external_entity(here),
        "css import over http": (
            '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64">'
            f'<style>@import url("{here}"); rect {{ fill: url("{here}#p"); }}</style><rect width="64" height="64"/></svg>'
        ).encode(),
        "feImage to http": (
            '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="64" height="64">'
            f'<filter id="f"><feImage xlink:href="{here}"/></filter><rect width="64" height="64" filter="url(#f)"/></svg>'
        ).encode(),
        "use of an external document": (
            '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="64" height="64">'
            f'<use xlink:href="{here}#a"/></svg>'
        ).encode(),
        "xinclude of a file": (
            '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xi="http://www.w3.org/2001/XInclude" width="64" height="64">'
            '<xi:include href="file:///etc/passwd" parse="text"/></svg>'
        ).encode(),
    }


SVG_CASES = list(_svg_reaching(1))


@pytest.mark.parametrize("case", SVG_CASES)
def test_svg_never_reaches_the_network_or_a_file(attacker: Attacker, listener: tuple[int, list[bytes]], case: str) -> None:
    port, received = listener
    data = _svg_reaching(port)[case]
    public_id = unique("svg")
    response = attacker.upload(data, public_id=public_id, filename="x.svg")
    assert response.status_code in (200, 400), response.text
    if response.status_code == 200:
        for transformation in ("w_64", "f_png", "w_32,f_jpg"):
            delivered = attacker.get(f"/{attacker.server.cloud}/image/upload/{transformation}/{public_id}")
            assert delivered.status_code < 500, delivered.text[:200]
            assert b"root:" not in delivered.content
    assert received == [], f"darkroom connected to the listener: {received}"


def test_svg_with_script_is_served_inert(attacker: Attacker) -> None:
    """Stored as uploaded, but its original is served sandboxed and never sniffed; renders are raster."""
    public_id = unique("svg-script")
    response = attacker.upload(hostile.svg_with_script(), public_id=public_id, filename="x.svg")
    assert response.status_code == 200, response.text
    original = attacker.get(f"/{attacker.server.cloud}/image/upload/{public_id}.svg")
    assert original.status_code == 200
    policy = original.headers["content-security-policy"]
    assert "sandbox" in policy and "default-src 'none'" in policy
    assert original.headers["x-content-type-options"] == "nosniff"
    rendered = attacker.get(f"/{attacker.server.cloud}/image/upload/w_32/{public_id}.png")
    assert rendered.status_code == 200 and rendered.headers["content-type"] == "image/png"
    assert rendered.headers["x-content-type-options"] == "nosniff"


def test_refused_svg_stores_nothing(attacker: Attacker) -> None:
    public_id = unique("svg-huge")
    assert TOO_LARGE in assert_refused(attacker.upload(hostile.svg_sized(200_000, 200_000), public_id=public_id))
    assert not attacker.is_stored(public_id)
