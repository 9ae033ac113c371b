"""Fixtures for the HTTP tests: sample files and a local HTTP server to upload from."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pyvips
import pytest


@pytest.fixture(scope="session")
def sample_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("samples") / "sample.png"
    gradient = pyvips.Image.xyz(120, 80)[0].cast("uchar")
    gradient.bandjoin([gradient, gradient]).write_to_file(str(path))
    return path


@pytest.fixture(scope="session")
def sample_jpg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("samples") / "photo.jpg"
    pyvips.Image.xyz(200, 150).bandjoin(pyvips.Image.black(200, 150)).cast("uchar").write_to_file(str(path), Q=90)
    return path


class _Handler(http.server.SimpleHTTPRequestHandler):
    redirects: dict[str, str] = {}

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        target = self.redirects.get(self.path)
        if target:
            self.send_response(302)
            self.send_header("Location", target)
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture(scope="session")
def file_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, dict[str, str]]]:
    """An HTTP server on 127.0.0.1 serving a folder: (base URL, folder, redirect table)."""
    folder = tmp_path_factory.mktemp("served")
    handler = type("Handler", (_Handler,), {"redirects": {}})

    def make(*args: object, **kwargs: object) -> _Handler:
        return handler(*args, directory=str(folder), **kwargs)  # type: ignore[arg-type]

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", folder, handler.redirects
    httpd.shutdown()
    httpd.server_close()
