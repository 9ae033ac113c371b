"""Search and listing latency on a large synthetic library: 1M assets in PostgreSQL, 100k in SQLite.

    .venv/bin/python bench/search.py                       # both databases, default sizes
    .venv/bin/python bench/search.py --db sqlite --assets 100000
    .venv/bin/python bench/search.py --db postgres --assets 1000000 --runs 40
    .venv/bin/python bench/search.py --db postgres --reuse  # skip loading if the data is there
    .venv/bin/python bench/search.py --http                 # also through a live server and the SDK

Loads a synthetic library (realistic folders, Zipf-distributed tags, context, metadata, sizes,
three years of upload dates) with bulk inserts (COPY on PostgreSQL, one executemany
transaction on SQLite; indexes built after the load), then times 10 representative
searches and listings through the catalog's own functions (the same code path the API
handlers call) and prints p50/p95 per query. `--http` repeats them through `darkroom serve`
and the official SDK, which adds HTTP and JSON shaping.

Goal (issue 4): p95 < 50 ms on PostgreSQL at 1M, < 100 ms on SQLite at 100k.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from darkroom.catalog import upsert_key  # noqa: E402
from darkroom.catalog.listing import Listing, list_resources  # noqa: E402
from darkroom.catalog.schema import TAG_COPIED_COLUMNS, asset_counts, asset_tags, assets, clouds, metadata  # noqa: E402
from darkroom.catalog.searching import SearchQuery, run_search  # noqa: E402

CLOUD = "bench"
NOW = datetime(2026, 11, 1, tzinfo=UTC)
WORK = ROOT / "bench" / ".work"
PG_ADMIN = os.environ.get("DARKROOM_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PG_DATABASE = "darkroom_bench"

WORDS = ("sunset beach mountain city night portrait product shoe shirt red blue green summer winter "
         "team office logo banner hero thumbnail kitten dog food travel").split()
TAGS = [f"tag_{i}" for i in range(500)] + ["blue shirt", "red shoe", "summer sale", "hero"]
FORMATS = [("image", "jpg", 0.55), ("image", "png", 0.2), ("image", "webp", 0.08), ("image", "gif", 0.02),
           ("video", "mp4", 0.1), ("raw", "pdf", 0.05)]
SIZES = [(1920, 1080), (1280, 720), (800, 600), (4000, 3000), (1080, 1080), (640, 480), (3840, 2160), (600, 900)]


# -- synthetic library --------------------------------------------------------------------------


def _folders(rng: random.Random) -> list[str]:
    out = [f"products/cat{i}" for i in range(60)] + [f"users/u{i}" for i in range(120)]
    out += [f"marketing/{y}/q{q}" for y in (2024, 2025, 2026) for q in range(1, 5)]
    out += ["next-cloudinary-uploads", "blog", "docs"]
    rng.shuffle(out)
    return out


def _zipf_tag(rng: random.Random) -> str:
    index = min(int(rng.paretovariate(1.1)) - 1, len(TAGS) - 1)
    return TAGS[index]


def generate(count: int, seed: int = 4) -> Iterator[tuple[dict[str, Any], list[str]]]:
    """Rows for `assets` (without id) and each one's tags, deterministic for a seed."""
    rng = random.Random(seed)
    folders = _folders(rng)
    weights = [w for _, _, w in FORMATS]
    span = timedelta(days=3 * 365).total_seconds()
    for i in range(count):
        folder = folders[min(int(rng.expovariate(1 / 30)), len(folders) - 1)]
        resource_type, fmt, _ = rng.choices(FORMATS, weights)[0]
        name = f"{rng.choice(WORDS)}_{i}"
        public_id = f"{folder}/{name}" + (".pdf" if resource_type == "raw" else "")
        width, height = (None, None) if resource_type == "raw" else rng.choice(SIZES)
        # Uploads arrive in time order, so ids and created_at grow together, as in a real library.
        created = NOW - timedelta(seconds=span * (1 - (i + rng.random()) / count))
        context = {}
        if rng.random() < 0.3:
            context["alt"] = " ".join(rng.sample(WORDS, 3))
        if rng.random() < 0.1:
            context["caption"] = " ".join(rng.sample(WORDS, 5))
        meta = {"rating": rng.randint(1, 5)} if rng.random() < 0.2 else {}
        row = {
            "cloud": CLOUD, "asset_id": f"{i:032x}", "resource_type": resource_type,
            "type": "private" if rng.random() < 0.05 else "upload", "public_id": public_id, "folder": folder,
            "asset_folder": folder, "filename": public_id.rsplit("/", 1)[-1], "display_name": name,
            "original_filename": name, "version": int(created.timestamp()), "version_id": f"{i:032x}", "format": fmt,
            "bytes": int(math.exp(rng.gauss(12.5, 1.5))), "width": width, "height": height, "pages": 1 if width else None,
            "pixels": width * height if width and height else None,
            "aspect_ratio": round(width / height, 5) if width and height else None,
            "duration": round(rng.uniform(2, 300), 2) if resource_type == "video" else None,
            "etag": f"{i:032x}", "storage_key": f"{CLOUD}/originals/{i}", "mime_type": "image/jpeg", "placeholder": False,
            "access_mode": "public", "moderation_status": None, "status": "active", "context": context, "metadata": meta,
            "created_at": created, "uploaded_at": created,
        }
        tags = sorted({_zipf_tag(rng) for _ in range(rng.choice((0, 1, 2, 2, 3, 4)))})
        yield row, tags


# -- loading ------------------------------------------------------------------------------------


def _fresh_schema(engine: Engine) -> list[sa.Index]:
    """Drop and recreate the tables without their secondary indexes (built after the load)."""
    metadata.drop_all(engine)
    metadata.create_all(engine)
    deferred = [index for table in (assets, asset_tags) for index in table.indexes]
    with engine.begin() as conn:
        for index in deferred:
            index.drop(conn)
        conn.execute(sa.insert(clouds).values(name=CLOUD, created_at=NOW, strict_transformations=False, settings={}))
    return deferred


def _build_indexes(engine: Engine, deferred: list[sa.Index]) -> None:
    with engine.begin() as conn:
        for index in deferred:
            index.create(conn)
    with engine.connect() as conn:
        # VACUUM too: after a bulk load the visibility map is empty and index-only scans would visit the heap.
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"))


def _tag_copies(row: dict[str, Any]) -> tuple[Any, ...]:
    """The asset's columns each of its tag rows carries (catalog.assets.insert_tags does the same)."""
    return tuple(row[name] for name in TAG_COPIED_COLUMNS)


def load_postgres(engine: Engine, count: int) -> None:
    import json

    deferred = _fresh_schema(engine)
    columns = [c.name for c in assets.columns if c.name != "id"]
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        with cursor.copy(f"COPY assets ({', '.join(columns)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
            tag_rows: list[tuple[Any, ...]] = []
            for pk, (row, tags) in enumerate(generate(count), start=1):
                copy.write_row([json.dumps(row[c]) if c in ("context", "metadata") else row[c] for c in columns])
                tag_rows += [(pk, t, *_tag_copies(row)) for t in tags]
        with cursor.copy(f"COPY asset_tags (asset_pk, tag, {', '.join(TAG_COPIED_COLUMNS)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
            for item in tag_rows:
                copy.write_row(item)
        raw.commit()
    finally:
        raw.close()
    _build_indexes(engine, deferred)


def load_sqlite(engine: Engine, count: int) -> None:
    deferred = _fresh_schema(engine)
    with engine.begin() as conn:
        batch: list[dict[str, Any]] = []
        tag_rows: list[dict[str, Any]] = []
        for pk, (row, tags) in enumerate(generate(count), start=1):
            batch.append({**row, "id": pk})
            tag_rows += [{"asset_pk": pk, "tag": t, **dict(zip(TAG_COPIED_COLUMNS, _tag_copies(row)))} for t in tags]
            if len(batch) == 10_000:
                conn.execute(sa.insert(assets), batch)
                batch = []
        if batch:
            conn.execute(sa.insert(assets), batch)
        conn.execute(sa.insert(asset_tags), tag_rows)
    _build_indexes(engine, deferred)


def ensure_indexes(engine: Engine) -> None:
    """On a reused library, build any index schema.py declares that the loaded one lacks, then VACUUM ANALYZE."""
    inspector = sa.inspect(engine)
    present = {i["name"] for t in ("assets", "asset_tags") for i in inspector.get_indexes(t)}
    missing = [index for table in (assets, asset_tags) for index in table.indexes if index.name not in present]
    if missing:
        print(f"building {', '.join(str(i.name) for i in missing)}")
        _build_indexes(engine, missing)


def loaded_count(engine: Engine) -> int:
    """Assets in the loaded library; 0 when there is none or its tables lack a column schema.py declares."""
    try:
        inspector = sa.inspect(engine)
        for table in (assets, asset_tags, asset_counts):
            if {c.name for c in table.columns} - {c["name"] for c in inspector.get_columns(table.name)}:
                return 0
        with engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(assets).where(assets.c.cloud == CLOUD)).scalar_one()
    except sa.exc.SQLAlchemyError:
        return 0


# -- the 10 queries -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    run: Callable[[Engine], Any]


def _search(expression: str, sort: tuple[tuple[str, str], ...] = (), limit: int = 50, **extra: Any) -> Callable[[Engine], Any]:
    query = SearchQuery(expression=expression, sort_by=sort, max_results=limit, **extra)
    return lambda engine: run_search(engine, CLOUD, query, NOW)


def _deep_page(engine: Engine) -> Any:
    """The 20th page of 100 of the newest-first listing, reached by following cursors (timed: that page only)."""
    return list_resources(engine, CLOUD, Listing(resource_type="image", type="upload", max_results=100, next_cursor=_DEEP_CURSOR[engine.url.drivername]))


_DEEP_CURSOR: dict[str, str | None] = {}


def _prepare_deep_cursor(engine: Engine) -> None:
    cursor = None
    for _ in range(19):
        cursor = list_resources(engine, CLOUD, Listing(resource_type="image", type="upload", max_results=100, next_cursor=cursor)).next_cursor
    _DEEP_CURSOR[engine.url.drivername] = cursor


CASES = [
    Case("gallery: folder=X sort created_at desc, with tags, 100",
         _search("folder=next-cloudinary-uploads", (("created_at", "desc"),), 100)),
    Case("search: tags=tag_3 (popular tag)", _search("tags=tag_3")),
    Case("search: image AND tags=tag_7 AND uploaded_at>1y AND bytes>1m",
         _search("resource_type:image AND tags=tag_7 AND uploaded_at>1y AND bytes>1m")),
    Case("search: folder:users/* AND format:png, sort bytes desc",
         _search("folder:users/* AND format:png", (("bytes", "desc"),))),
    Case("search: created_at:[2025-01-01 TO 2025-03-31] AND -format:gif",
         _search("created_at:[2025-01-01 TO 2025-03-31] AND -format:gif")),
    Case("search: tags:shirt (tokenized) OR context.alt:sunset, in one folder",
         _search("folder=products/cat3 AND (tags:shirt OR context.alt:sunset)")),
    Case("search: everything, aggregate format", _search("", aggregate=("format",))),
    Case("listing: resources(image, upload) newest first, 100",
         lambda engine: list_resources(engine, CLOUD, Listing(resource_type="image", type="upload", max_results=100))),
    Case("listing: resources(prefix=products/cat1/), 100",
         lambda engine: list_resources(engine, CLOUD, Listing(resource_type="image", prefix="products/cat1/", max_results=100))),
    Case("listing: 20th page of 100 by cursor", _deep_page),
]


def measure(engine: Engine, runs: int, only: str = "") -> list[tuple[str, float, float]]:
    _prepare_deep_cursor(engine)
    results = []
    for case in CASES:
        if only not in case.name:
            continue
        for _ in range(3):
            case.run(engine)
        timings = []
        for _ in range(runs):
            started = time.perf_counter()
            case.run(engine)
            timings.append((time.perf_counter() - started) * 1000)
        timings.sort()
        p95 = timings[min(len(timings) - 1, math.ceil(0.95 * len(timings)) - 1)]
        results.append((case.name, statistics.median(timings), p95))
    return results


def report(title: str, results: list[tuple[str, float, float]], goal_ms: float) -> bool:
    print(f"\n{title}")
    print(f"{'query':<68} {'p50 ms':>8} {'p95 ms':>8}")
    for name, p50, p95 in results:
        flag = "" if p95 < goal_ms else "  > goal"
        print(f"{name:<68} {p50:8.1f} {p95:8.1f}{flag}")
    worst = max(p95 for _, _, p95 in results)
    print(f"worst p95: {worst:.1f} ms (goal < {goal_ms:.0f} ms)")
    return worst < goal_ms


# -- through HTTP and the SDK -------------------------------------------------------------------


def measure_http(database_url: str, runs: int) -> list[tuple[str, float, float]]:
    """The same kinds of calls through `darkroom serve` and the SDK (adds HTTP, auth, JSON shaping)."""
    import secrets

    import cloudinary
    import cloudinary.api
    from cloudinary.search import Search

    sys.path.insert(0, str(ROOT / "tests"))
    from support import start_server, stop_server, wait_until_healthy  # type: ignore[import-not-found]

    from darkroom.catalog import create_engine_for

    engine = create_engine_for(database_url)
    key, secret = "300000000000001", secrets.token_urlsafe(18)
    upsert_key(engine, CLOUD, key, secret, label="bench")
    engine.dispose()
    data_dir = WORK / f"http-{secrets.token_hex(3)}"
    data_dir.mkdir(parents=True, exist_ok=True)
    server = start_server(data_dir, database_url)
    try:
        wait_until_healthy(server.base_url, server.process)
        os.environ["CLOUDINARY_URL"] = f"cloudinary://{key}:{secret}@{CLOUD}?upload_prefix={server.base_url}&cname={server.host}"
        cloudinary.reset_config()
        calls: list[tuple[str, Callable[[], Any]]] = [
            ("gallery search (SDK)", lambda: Search().expression("folder=next-cloudinary-uploads").sort_by("created_at", "desc")
             .with_field("tags").max_results(100).execute()),
            ("tags=tag_3 search (SDK)", lambda: Search().expression("tags=tag_3").execute()),
            ("resources(image, upload), 100 (SDK)", lambda: cloudinary.api.resources(type="upload", max_results=100)),
            ("resources_by_tag(tag_40) (SDK)", lambda: cloudinary.api.resources_by_tag("tag_40", max_results=100)),
        ]
        results = []
        for name, call in calls:
            for _ in range(3):
                call()
            timings = []
            for _ in range(runs):
                started = time.perf_counter()
                call()
                timings.append((time.perf_counter() - started) * 1000)
            timings.sort()
            results.append((name, statistics.median(timings), timings[min(len(timings) - 1, math.ceil(0.95 * len(timings)) - 1)]))
        return results
    finally:
        stop_server(server)


# -- main -------------------------------------------------------------------------------------------


def _postgres_url() -> str:
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": PG_DATABASE}).first():
            conn.execute(sa.text(f'CREATE DATABASE "{PG_DATABASE}"'))
    admin.dispose()
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{PG_DATABASE}"


def run(db: str, count: int, runs: int, reuse: bool, http: bool, only: str = "") -> bool:
    from darkroom.catalog import create_engine_for

    if db == "postgres":
        url, goal, loader = _postgres_url(), 50.0, load_postgres
    else:
        WORK.mkdir(parents=True, exist_ok=True)
        url, goal, loader = f"sqlite:///{WORK / 'search-bench.db'}", 100.0, load_sqlite
    engine = create_engine_for(url)
    if not (reuse and loaded_count(engine) == count):
        started = time.perf_counter()
        loader(engine, count)
        print(f"{db}: loaded {count:,} assets in {time.perf_counter() - started:.1f} s")
    else:
        ensure_indexes(engine)
    ok = report(f"{db}, {count:,} assets, {runs} runs each (catalog functions)", measure(engine, runs, only), goal)
    engine.dispose()
    if http:
        report(f"{db}, {count:,} assets, through darkroom serve + SDK", measure_http(url, runs), goal)
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--db", choices=("postgres", "sqlite", "both"), default="both")
    parser.add_argument("--assets", type=int, help="library size (default: 1,000,000 PostgreSQL, 100,000 SQLite)")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--reuse", action="store_true", help="keep an already loaded library of the same size")
    parser.add_argument("--http", action="store_true", help="also time calls through a live server and the SDK")
    parser.add_argument("--only", default="", help="run only the cases whose name contains this text")
    args = parser.parse_args()
    ok = True
    for db in (("postgres", "sqlite") if args.db == "both" else (args.db,)):
        count = args.assets or (1_000_000 if db == "postgres" else 100_000)
        ok = run(db, count, args.runs, args.reuse, args.http, args.only) and ok
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
