"""A small library of assets with known fields, loaded identically into each database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from darkroom.catalog.assets import insert_tags
from darkroom.catalog.schema import assets, clouds

CLOUD = "corpus"
NOW = datetime(2025, 6, 15, 12, 0, 0, tzinfo=UTC)


def _asset(index: int, public_id: str, **fields: Any) -> dict[str, Any]:
    folder, _, filename = public_id.rpartition("/")
    created = fields.pop("created_at", NOW - timedelta(days=index))
    width, height = fields.pop("width", 800), fields.pop("height", 600)
    row = {
        "cloud": CLOUD,
        "asset_id": f"{index:032x}",
        "resource_type": "image",
        "type": "upload",
        "public_id": public_id,
        "folder": folder,
        "asset_folder": folder,
        "filename": filename,
        "display_name": filename,
        "version": 1700000000 + index,
        "version_id": f"{index:032x}",
        "format": "jpg",
        "bytes": 1000 * (index + 1),
        "width": width,
        "height": height,
        "pixels": width * height if width and height else None,
        "aspect_ratio": round(width / height, 5) if width and height else None,
        "etag": f"etag{index}",
        "storage_key": f"{CLOUD}/{index}",
        "context": {},
        "metadata": {},
        "created_at": created,
        "uploaded_at": created,
    }
    row.update(fields)
    return row


# (row, tags)
ASSETS: list[tuple[dict[str, Any], list[str]]] = [
    (_asset(0, "products/shoes/red-boot", context={"alt": "A red boot at sunset"}, metadata={"color": "red", "rating": 5}), ["shoe", "red"]),
    (_asset(1, "products/shoes/blue_sneaker", format="png", metadata={"color": "blue", "sizes": ["s", "m"], "rating": 3}), ["shoe", "blue shirt"]),
    (_asset(2, "products/shirts/long pants", format="gif", bytes=2 * 1024 * 1024, context={"alt": "pants"}), ["shirt"]),
    (_asset(3, "products/shirt", width=1920, height=1080, metadata={"released": "2024-03-01"}), ["Shirt", "archived"]),
    (_asset(4, "next-cloudinary-uploads/beach", created_at=NOW - timedelta(hours=3), width=1600, height=900), ["beach", "kitten"]),
    (_asset(5, "next-cloudinary-uploads/sub/dune", created_at=datetime(2024, 1, 15, tzinfo=UTC)), ["beach"]),
    (_asset(6, "My Album/cat", asset_folder="My Album", created_at=datetime(2024, 2, 1, 23, 0, tzinfo=UTC)), ["cat"]),
    (_asset(7, "dog", folder="", asset_folder="", created_at=datetime(2024, 2, 2, tzinfo=UTC), moderation_status="approved"), ["dog"]),
    (_asset(8, "docs/readme.txt", resource_type="raw", format="", width=None, height=None, bytes=0), []),
    (_asset(9, "videos/clip", resource_type="video", format="mp4", duration=12.5, access_mode="authenticated"), ["kitten"]),
    (_asset(10, "Shoes/Upper", metadata={"sizes": ["m"]}), ["SHOE"]),
    (_asset(11, "products/shoes%_x", display_name="100% cotton_blend"), ["50%_off"]),
]


def load(engine: Engine) -> None:
    """Insert the corpus once per database (idempotent across parametrized tests)."""
    with engine.begin() as conn:
        if conn.execute(sa.select(clouds.c.name).where(clouds.c.name == CLOUD)).first():
            return
        conn.execute(sa.insert(clouds).values(name=CLOUD, created_at=NOW, strict_transformations=False, settings={}))
        for row, tags in ASSETS:
            pk = conn.execute(sa.insert(assets).values(**row)).inserted_primary_key[0]
            insert_tags(conn, pk, tags)
