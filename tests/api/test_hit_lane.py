"""The hit lane (darkroom/hit_lane.py): repeated image requests answered by the server's HTTP
protocol itself. Driven through raw sockets, as HTTP clients and proxies speak it: pipelined
requests, HEAD, Connection: close, HTTP/1.0, request IDs, and the counting every answer gets."""

from __future__ import annotations

import socket
from pathlib import Path

import cloudinary.uploader
import cloudinary.utils
import httpx
from support import LiveServer

from tests.api.test_observability import scrape, total


def _warm(public_id: str, sample: Path, **options: object) -> tuple[str, httpx.Response]:
    """Upload, then ask twice: the second answer comes from the hot-response memory."""
    cloudinary.uploader.upload(str(sample), public_id=public_id)
    url = cloudinary.utils.cloudinary_url(public_id, **options)[0]
    first = httpx.get(url)
    assert first.status_code == 200 and httpx.get(url).content == first.content
    return url, first


def _request(path: str, method: str = "GET", version: str = "1.1", **headers: str) -> bytes:
    lines = [f"{method} {path} HTTP/{version}", "Host: 127.0.0.1", *(f"{name.replace('_', '-')}: {value}" for name, value in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class Reader:
    """HTTP/1.1 responses read one after another from one connection."""

    def __init__(self, connection: socket.socket) -> None:
        self.connection = connection
        self.buffer = b""

    def _fill(self) -> bool:
        chunk = self.connection.recv(65536)
        self.buffer += chunk
        return bool(chunk)

    def response(self, head_request: bool = False) -> tuple[str, dict[str, str], bytes]:
        while b"\r\n\r\n" not in self.buffer:
            assert self._fill(), f"the connection closed mid-answer: {self.buffer[:200]!r}"
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status, *header_lines = head.decode("latin-1").split("\r\n")
        headers: dict[str, str] = {}
        for line in header_lines:
            name, value = line.split(":", 1)
            assert name.lower() not in headers, f"{name} sent twice"
            headers[name.lower()] = value.strip()
        length = 0 if head_request else int(headers["content-length"])
        while len(self.buffer) < length:
            assert self._fill(), "the connection closed mid-body"
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return status, headers, body

    def closed(self) -> bool:
        self.connection.settimeout(5)
        return not self.buffer and not self._fill()


def _connect(server: LiveServer) -> socket.socket:
    host, port = server.host.rsplit(":", 1)
    connection = socket.create_connection((host, int(port)), timeout=10)
    return connection


def test_pipelined_requests_are_answered_in_order_whichever_path_answers_each(cld_sqlite: LiveServer, sample_jpg: Path) -> None:
    url, first = _warm("lane/pipelined", sample_jpg, width=60, crop="scale", format="jpg")
    path = url.split(cld_sqlite.host, 1)[1]
    other = cloudinary.utils.cloudinary_url("lane/pipelined", width=30, crop="scale", format="png")[0].split(cld_sqlite.host, 1)[1]
    with _connect(cld_sqlite) as connection:
        # A hit, a HEAD never asked before (the ASGI path), a new derivative (a render), a hit with a request ID.
        connection.sendall(_request(path) + _request(path, "HEAD") + _request(other) + _request(path, X_Request_Id="trace-7"))
        reader = Reader(connection)
        answers = [reader.response(), reader.response(head_request=True), reader.response(), reader.response()]
    statuses = [status for status, _, _ in answers]
    assert statuses == ["HTTP/1.1 200 OK"] * 4
    hit, head, render, traced = answers
    assert hit[2] == traced[2] == first.content and head[2] == b""
    assert head[1]["content-length"] == str(len(first.content)) and head[1]["etag"] == first.headers["etag"]
    assert render[1]["content-type"] == "image/png" and render[2][:8] == b"\x89PNG\r\n\x1a\n"
    for header in ("etag", "cache-control", "content-type", "surrogate-key", "x-content-type-options", "accept-ranges"):
        assert hit[1][header] == first.headers[header], header
    assert "date" in hit[1] and hit[1]["x-request-id"] != first.headers["x-request-id"]
    assert traced[1]["x-request-id"] == "trace-7"


def test_connection_close_and_http_1_0_are_answered_then_closed(cld_sqlite: LiveServer, sample_jpg: Path) -> None:
    url, first = _warm("lane/closing", sample_jpg, width=40, crop="scale", format="jpg")
    path = url.split(cld_sqlite.host, 1)[1]
    for request in (_request(path, Connection="close"), _request(path, version="1.0")):
        with _connect(cld_sqlite) as connection:
            connection.sendall(request)
            reader = Reader(connection)
            status, headers, body = reader.response()
            assert status.endswith("200 OK") and body == first.content and headers["connection"] == "close"
            assert reader.closed()


def test_hits_answered_by_the_lane_are_counted_like_any_other(cld_sqlite: LiveServer, sample_jpg: Path) -> None:
    url, first = _warm("lane/counted", sample_jpg, width=44, crop="scale", format="jpg")
    path = url.split(cld_sqlite.host, 1)[1]
    before = scrape(cld_sqlite)
    with _connect(cld_sqlite) as connection:
        connection.sendall(_request(path) * 5)
        reader = Reader(connection)
        assert [reader.response()[2] for _ in range(5)] == [first.content] * 5
    after = scrape(cld_sqlite)

    def moved(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    assert moved("darkroom_http_requests_total", family="delivery", status="200") == 5
    assert moved("darkroom_http_response_bytes_total", family="delivery") == 5 * len(first.content)
    assert moved("darkroom_http_request_duration_seconds_count", family="delivery") == 5
    # Each a hit: replayed, or found in memory again when the kept answer's second had run out.
    assert moved("darkroom_derivative_cache_hits_total") == 5 and moved("darkroom_derivative_cache_hits_total", tier="replay") >= 1


def test_a_revalidation_of_a_kept_answer_is_the_304_delivery_gives(cld_sqlite: LiveServer, sample_jpg: Path) -> None:
    url, first = _warm("lane/revalidated", sample_jpg, width=52, crop="scale", format="jpg")
    path = url.split(cld_sqlite.host, 1)[1]
    etag = first.headers["etag"]
    before = scrape(cld_sqlite)
    with _connect(cld_sqlite) as connection:  # kept alive: the lane answers, from the kept 200
        connection.sendall(_request(path))  # the 200 for these very headers, kept (a kept answer lives a second)
        reader = Reader(connection)
        assert reader.response()[2] == first.content
        connection.sendall(_request(path, If_None_Match=etag) + _request(path, If_None_Match=f'"other", W/{etag}') + _request(path, If_None_Match='"other"'))
        lane, weak, changed = reader.response(head_request=True), reader.response(head_request=True), reader.response()
    with _connect(cld_sqlite) as connection:  # closing: delivery itself answers
        connection.sendall(_request(path, If_None_Match=etag, Connection="close"))
        delivery = Reader(connection).response(head_request=True)
    assert lane[0] == weak[0] == delivery[0] == "HTTP/1.1 304 Not Modified"
    assert lane[2] == b"" and changed[0] == "HTTP/1.1 200 OK" and changed[2] == first.content
    unrelated = {"date", "x-request-id", "connection"}
    assert {k: v for k, v in lane[1].items() if k not in unrelated} == {k: v for k, v in delivery[1].items() if k not in unrelated}
    assert lane[1]["etag"] == etag and "content-length" not in lane[1] and "content-type" not in lane[1]
    replayed = total(scrape(cld_sqlite), "darkroom_derivative_cache_hits_total", tier="replay") - total(before, "darkroom_derivative_cache_hits_total", tier="replay")
    assert replayed >= 2  # both 304s, answered from the kept 200 within its second
