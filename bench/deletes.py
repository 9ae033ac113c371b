"""Admin API bulk deletes: time and SQL statements to delete 1,000 assets, SQLite and PostgreSQL.

    .venv/bin/python bench/deletes.py                      # both databases, 1,000 assets
    .venv/bin/python bench/deletes.py --db sqlite --assets 5000 --derived 3

Seeds a cloud with `--assets` assets under `bench/` (two tags and `--derived` derivatives
each) and times the catalog functions the API handlers call (`catalog.deletion`), the
metadata transaction only (no blobs): by prefix with backups off and on (paging through
`next_cursor` as the SDK would), by tag, and by 100 public IDs. Each case starts from a
freshly seeded cloud. It prints the wall time and the SQL statements executed (an
`executemany` counts once), which is what the set-based deletes bound per batch.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from darkroom.catalog import create_engine_for  # noqa: E402
from darkroom.catalog import deletion, update_tags  # noqa: E402
from darkroom.catalog.backups import set_backups  # noqa: E402
from darkroom.catalog.schema import assets, clouds, derived, metadata  # noqa: E402

PG_ADMIN = os.environ.get("DARKROOM_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PG_DATABASE = "darkroom_bench_deletes"
CLOUD = "bench"


def sqlite_engine() -> Engine:
    path = ROOT / "bench" / ".work" / "deletes.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    for leftover in path.parent.glob(path.name + "*"):
        leftover.unlink()
    return create_engine_for(f"sqlite:///{path}")


def postgres_engine() -> Engine:
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{PG_DATABASE}"'))
    admin.dispose()
    return create_engine_for(PG_ADMIN.rsplit("/", 1)[0] + f"/{PG_DATABASE}")


def seed(engine: Engine, count: int, derivatives: int) -> None:
    """A fresh cloud holding `count` assets `bench/N`, tagged `all` and one of `g0`…`g9`, each with `derivatives` derivatives."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(sa.delete(clouds).where(clouds.c.name == CLOUD))
        conn.execute(sa.insert(clouds).values(name=CLOUD, created_at=now, strict_transformations=False, settings={}))
        conn.execute(sa.insert(assets), [
            {"cloud": CLOUD, "asset_id": f"{i:032x}", "resource_type": "image", "type": "upload", "public_id": f"bench/{i}",
             "folder": "bench", "version": 1, "version_id": "0", "storage_key": f"{CLOUD}/o/{i}", "created_at": now,
             "uploaded_at": now, "context": {}, "metadata": {}}
            for i in range(count)
        ])
        pks = [pk for (pk,) in conn.execute(sa.select(assets.c.id).where(assets.c.cloud == CLOUD).order_by(assets.c.id))]
        if derivatives:
            conn.execute(sa.insert(derived), [
                {"asset_pk": pk, "version": 1, "transformation": f"w_{n}", "format": "jpg", "storage_key": f"{CLOUD}/d/{pk}/{n}",
                 "created_at": now}
                for pk in pks for n in range(derivatives)
            ])
    # Tags through the catalog's own function, which knows what else a tag row holds.
    update_tags(engine, CLOUD, "image", "upload", [f"bench/{i}" for i in range(count)], "add", ["all"])
    for group in range(10):
        update_tags(engine, CLOUD, "image", "upload", [f"bench/{i}" for i in range(group, count, 10)], "add", [f"g{group}"])


def until_done(delete: Callable[[str | None], deletion.Deletion]) -> int:
    """Call `delete` with each `next_cursor` until a reply is not partial; the assets deleted."""
    cursor, total = None, 0
    while True:
        outcome = delete(cursor)
        total += len(outcome.deleted)
        if not outcome.partial:
            return total
        cursor = outcome.next_cursor


def cases(engine: Engine) -> dict[str, Callable[[], int]]:
    def by_prefix(cursor: str | None) -> deletion.Deletion:
        return deletion.delete_matching(engine, CLOUD, "image", "upload", prefix="bench/", next_cursor=cursor)

    def by_tag(cursor: str | None) -> deletion.Deletion:
        return deletion.delete_matching(engine, CLOUD, "image", None, tag="all", next_cursor=cursor)

    def by_ids() -> int:
        ids = [f"bench/{i}" for i in range(100)]
        return len(deletion.delete_by_public_ids(engine, CLOUD, "image", "upload", ids, deletion.Target()).deleted)

    def derived_only(cursor: str | None) -> deletion.Deletion:
        return deletion.delete_matching(engine, CLOUD, "image", "upload", prefix="bench/", next_cursor=cursor,
                                        target=deletion.Target(keep_original=True))

    return {
        "by prefix": lambda: until_done(by_prefix),
        "by prefix, backups on": lambda: until_done(by_prefix),  # `run` turns backups on by the label
        "by tag": lambda: until_done(by_tag),
        "derivatives only (keep_original)": lambda: until_done(derived_only),
        "100 public_ids": by_ids,
    }


def run(name: str, engine: Engine, count: int, derivatives: int) -> None:
    statements = 0

    def counted(*_: object) -> None:
        nonlocal statements
        statements += 1

    print(f"\n{name}: {count} assets, 2 tags and {derivatives} derivatives each")
    print(f"{'case':<36} {'deleted':>8} {'seconds':>9} {'statements':>11}")
    metadata.create_all(engine)
    for label, case in cases(engine).items():
        seed(engine, count, derivatives)
        set_backups(engine, CLOUD, "backups" in label)
        sa.event.listen(engine, "before_cursor_execute", counted)
        statements = 0
        started = time.perf_counter()
        deleted = case()
        elapsed = time.perf_counter() - started
        sa.event.remove(engine, "before_cursor_execute", counted)
        print(f"{label:<36} {deleted:>8} {elapsed:>9.3f} {statements:>11}")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--assets", type=int, default=1000)
    parser.add_argument("--derived", type=int, default=2, help="derivatives per asset")
    args = parser.parse_args()
    if args.db in ("sqlite", "both"):
        run("SQLite", sqlite_engine(), args.assets, args.derived)
    if args.db in ("postgres", "both"):
        run("PostgreSQL", postgres_engine(), args.assets, args.derived)


if __name__ == "__main__":
    main()
