"""The window into a running server: `/metrics`, request IDs in headers and logs, `/` and `/version`."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import cloudinary.uploader
import cloudinary.utils
import httpx
import pytest
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from support import LiveServer, start_server, stop_server, wait_until_healthy

import darkroom
from darkroom.api.errors import exception_handlers
from darkroom.api.telemetry import Telemetry, install
from darkroom.config import Settings
from darkroom.api.logs import JsonFormatter, RequestIdFilter, TextFormatter, logging_config, request_id
from darkroom.api.metrics import RequestMetrics, route_family

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(server: LiveServer) -> Samples:
    response = httpx.get(f"{server.base_url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum over every series of `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, series), v in samples.items() if n == name and wanted <= set(series))


def test_metrics_parse_and_move_with_an_upload_a_render_and_a_cached_hit(cld_sqlite: LiveServer, sample_png: Path) -> None:
    before = scrape(cld_sqlite)
    cloudinary.uploader.upload(str(sample_png), public_id="observed/one")
    url = cloudinary.utils.cloudinary_url("observed/one", width=37, crop="scale", format="png")[0]
    miss = httpx.get(url)
    hit = httpx.get(url)
    assert miss.status_code == hit.status_code == 200 and miss.content == hit.content
    after = scrape(cld_sqlite)

    def moved(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    assert moved("darkroom_http_requests_total", family="upload", status="200") == 1
    assert moved("darkroom_http_requests_total", family="delivery", status="200") == 2
    assert moved("darkroom_http_request_duration_seconds_count", family="delivery") == 2
    assert moved("darkroom_http_request_duration_seconds_bucket", family="delivery", le="+Inf") == 2
    assert moved("darkroom_http_request_duration_seconds_sum", family="delivery") > 0
    assert moved("darkroom_http_request_bytes_total", family="upload") >= sample_png.stat().st_size
    assert moved("darkroom_http_response_bytes_total", family="delivery") == 2 * len(miss.content)
    assert moved("darkroom_renders_total") == 1
    assert moved("darkroom_render_duration_seconds_count") == 1
    assert moved("darkroom_derivative_cache_misses_total") == 1
    assert moved("darkroom_derivative_cache_hits_total") == 1  # from memory, or the replayed answer
    assert value(after, "darkroom_build_info", version=darkroom_version(), build=httpx.get(f"{cld_sqlite.base_url}/version").json()["build"]) == 1


def test_request_durations_land_in_the_buckets_prometheus_would_put_them_in() -> None:
    """RequestMetrics tallies requests and folds them into prometheus-client's histogram in
    bulk: the scrape must read as if each request had been observed on its own."""
    def durations() -> Samples:
        samples: Samples = {}
        for family in text_string_to_metric_families(generate_latest(REGISTRY).decode()):
            for sample in family.samples:
                if sample.name.startswith("darkroom_http_request_duration_seconds") and sample.labels.get("family") == "other":
                    samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return samples

    before = durations()
    recorder = RequestMetrics()
    for seconds in (0.0001, 0.0005, 0.003, 0.7, 500.0):  # 0.0005 is on a bound: "le" includes it
        recorder.observe("other", 204, seconds, 0, 0, False)
    recorder.fold()
    recorder.fold()  # a second fold adds nothing
    after = durations()

    def moved(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    bucket = "darkroom_http_request_duration_seconds_bucket"
    assert [moved(bucket, le=le) for le in ("0.0005", "0.001", "0.005", "0.5", "1.0", "120.0", "+Inf")] == [2, 2, 3, 3, 4, 4, 5]
    assert moved("darkroom_http_request_duration_seconds_count") == 5
    assert moved("darkroom_http_request_duration_seconds_sum") == pytest.approx(500.7036)


def test_requests_are_counted_by_route_family_never_by_path(cld_sqlite: LiveServer) -> None:
    httpx.get(f"{cld_sqlite.base_url}/{cld_sqlite.cloud}/image/upload/no/such/asset-{time.time_ns()}.jpg")
    samples = scrape(cld_sqlite)
    families = {dict(series).get("family") for (name, series) in samples if name == "darkroom_http_requests_total"}
    assert {"delivery", "service"} <= families <= {"upload", "admin", "search", "delivery", "console", "media_store", "sign", "service", "other"}
    assert not any("asset-" in label for (_name, series) in samples for _key, label in series)


@pytest.mark.parametrize(
    ("path", "family"),
    [
        ("/", "service"), ("/health", "service"), ("/metrics", "service"), ("/version", "service"),
        ("/v1_1/demo/image/upload", "upload"), ("/v1_1/demo/auto/upload", "upload"), ("/v1_1/demo/image/generate_archive", "upload"),
        ("/v1_1/demo/resources/image/upload/a/b", "admin"), ("/v1_1/demo/usage", "admin"), ("/v1_1/demo/upload_presets", "admin"),
        ("/v1_1/demo/resources/search", "search"), ("/v1_1/demo/folders/search", "search"), ("/demo/search/sig/300/q", "search"),
        ("/demo/image/upload/c_fill,w_10/v1/a/b.jpg", "delivery"), ("/demo/video/upload/a.mp4", "delivery"),
        ("/console", "console"), ("/console/api/resources", "console"), ("/widget.js", "console"),
        ("/api/sign", "sign"), ("/api/cloudinary/media", "media_store"), ("/api/cloudinary/media/a/b.png", "media_store"),
        ("/favicon.ico", "other"), ("/api/other", "other"), ("/demo/image", "other"),
        ("/metrics/image/upload/a.jpg", "delivery"), ("/version/image/upload/a.jpg", "delivery"),  # clouds so named
    ],
)
def test_route_families(path: str, family: str) -> None:
    assert route_family(path, "/api/cloudinary/media") == family


def test_media_store_family_follows_its_configured_path() -> None:
    assert route_family("/media/x.png", "/media") == "media_store"
    assert route_family("/mediax/a/b/c", "/media") == "delivery"


def test_every_response_carries_a_request_id_and_a_well_formed_one_is_kept(sqlite_server: LiveServer) -> None:
    base = sqlite_server.base_url
    generated = {httpx.get(f"{base}/health").headers["x-request-id"] for _ in range(3)}
    assert len(generated) == 3 and all(len(rid) >= 16 for rid in generated)
    missing = httpx.get(f"{base}/{sqlite_server.cloud}/image/upload/nothing-here.jpg")
    assert missing.status_code == 404 and missing.headers["x-request-id"]
    assert httpx.get(f"{base}/health", headers={"X-Request-Id": "trace-4bf92f3577b34da6"}).headers["x-request-id"] == "trace-4bf92f3577b34da6"
    for bad in ("has spaces in it", "x" * 500, "quote\"d"):
        kept = httpx.get(f"{base}/health", headers={"X-Request-Id": bad}).headers.get_list("x-request-id")
        assert len(kept) == 1 and kept[0] != bad


def test_admin_replies_have_one_request_id_the_sdk_reads(sqlite_server: LiveServer) -> None:
    reply = httpx.get(f"{sqlite_server.base_url}/v1_1/{sqlite_server.cloud}/ping", auth=(sqlite_server.api_key, sqlite_server.api_secret))
    assert reply.status_code == 200
    assert len(reply.headers.get_list("x-request-id")) == 1


def darkroom_version() -> str:
    try:
        return metadata.version("darkroom")
    except metadata.PackageNotFoundError:
        return darkroom.__version__


def test_version_reports_the_version_and_a_build(sqlite_server: LiveServer) -> None:
    answer = httpx.get(f"{sqlite_server.base_url}/version")
    assert answer.status_code == 200
    body = answer.json()
    assert body["version"] == darkroom_version()
    assert isinstance(body["build"], str) and body["build"]  # a commit in a checkout, else "unknown"


def test_root_points_programs_and_browsers_to_the_console_health_metrics_and_version(sqlite_server: LiveServer) -> None:
    plain = httpx.get(f"{sqlite_server.base_url}/")
    assert plain.status_code == 200
    assert {"/console", "/health", "/metrics", "/version"} <= set(plain.json()["links"])
    page = httpx.get(f"{sqlite_server.base_url}/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert page.headers["content-type"].startswith("text/html")
    for path in ("/console", "/health", "/metrics", "/version"):
        assert f'href="{path}"' in page.text
        assert httpx.get(f"{sqlite_server.base_url}{path}", follow_redirects=True).status_code == 200


# ---- logs -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def json_logged_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server of two worker processes logging JSON lines at info (its log is data_dir/server.log)."""
    data_dir = tmp_path_factory.mktemp("darkroom-json-logs")
    server = start_server(data_dir, f"sqlite:///{data_dir / 'darkroom.db'}", args=("--log-format", "json", "--log-level", "info", "--workers", "2"))
    try:
        wait_until_healthy(server.base_url, server.process)
        yield server
    finally:
        stop_server(server)


def log_entries(server: LiveServer) -> list[dict[str, object]]:
    lines = (server.data_dir / "server.log").read_text().splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def test_a_json_access_line_carries_the_request_id_of_the_response(json_logged_server: LiveServer) -> None:
    path = f"/{json_logged_server.cloud}/image/upload/not-there.png"
    response = httpx.get(json_logged_server.base_url + path)
    rid = response.headers["x-request-id"]
    deadline = time.monotonic() + 10
    while not (found := [e for e in log_entries(json_logged_server) if e.get("request_id") == rid]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(found) == 1, "one access line per request"
    line = found[0]
    assert line["logger"] == "darkroom.access" and line["level"] == "INFO"
    assert (line["method"], line["path"], line["status"]) == ("GET", path, 404)
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["bytes_out"] == len(response.content)


def test_every_log_line_is_json_and_uvicorns_access_log_is_replaced(json_logged_server: LiveServer) -> None:
    httpx.get(f"{json_logged_server.base_url}/health")
    lines = [line for line in (json_logged_server.data_dir / "server.log").read_text().splitlines() if line.strip()]
    first_logged = next(number for number, line in enumerate(lines) if line.startswith("{"))
    assert lines[0].startswith("darkroom")  # the banner `serve` prints for a person, before any log line
    entries = [json.loads(line) for line in lines[first_logged:]]
    assert any(e["logger"] == "uvicorn.error" for e in entries)  # uvicorn's start-up lines, as JSON
    assert not any(e["logger"] == "uvicorn.access" for e in entries)


def test_metrics_of_all_worker_processes_are_summed(json_logged_server: LiveServer) -> None:
    before = value(scrape(json_logged_server), "darkroom_http_requests_total", family="delivery", status="404")
    for number in range(12):
        with httpx.Client() as fresh:  # a new connection each time: either worker may answer
            assert fresh.get(f"{json_logged_server.base_url}/nocloud/image/upload/x{number}.png").status_code == 404
    after = value(scrape(json_logged_server), "darkroom_http_requests_total", family="delivery", status="404")
    assert after - before == 12


def test_text_lines_name_the_request() -> None:
    record = logging.LogRecord("darkroom.api", logging.WARNING, __file__, 1, "blob %s not stored", ("k",), None)
    token = request_id.set("abc123")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id.reset(token)
    text = TextFormatter().format(record)
    assert text.endswith("WARNING darkroom.api [abc123] blob k not stored")
    assert json.loads(JsonFormatter().format(record))["request_id"] == "abc123"
    assert logging_config()["formatters"]["darkroom"]["()"].endswith("TextFormatter")  # readable text by default


@pytest.mark.anyio
async def test_an_unexpected_error_is_answered_and_logged_under_the_request_id(caplog: pytest.LogCaptureFixture) -> None:
    async def boom(_request: Request) -> Response:
        raise RuntimeError("a bug")

    app = Starlette(routes=[Route("/boom", boom)], middleware=[Middleware(Telemetry)], exception_handlers=exception_handlers)  # type: ignore[arg-type]
    install(app, Settings())
    caplog.handler.addFilter(RequestIdFilter())
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://darkroom") as client:
        answer = await client.get("/boom", headers={"X-Request-Id": "boom-1234"})
    assert answer.status_code == 500 and answer.json() == {"error": {"message": "Internal server error"}}
    assert answer.headers.get_list("x-request-id") == ["boom-1234"]
    logged = [r for r in caplog.records if r.getMessage() == "unexpected error"]
    assert [r.request_id for r in logged] == ["boom-1234"]  # type: ignore[attr-defined]


def test_an_access_line_cannot_be_split_by_a_newline_in_the_path(caplog: pytest.LogCaptureFixture) -> None:
    """`GET /a%0A127.0.0.1 GET /admin 200` must stay one line, its control characters escaped."""
    from darkroom.api import telemetry

    scope = {"type": "http", "method": "GET", "path": "/a\n127.0.0.1 GET /forged 200\r", "client": ("127.0.0.1", 1)}
    with caplog.at_level(logging.INFO, logger="darkroom.access"):
        telemetry.access_line(scope, "other", 404, 0.001, 0, 10)
    line = caplog.records[-1].getMessage()
    assert "\n" not in line and "\r" not in line and "/a\\x0a127.0.0.1 GET /forged 200\\x0d" in line
