"""A duplicate refused by a unique index reaches the client as Cloudinary's 409, on SQLite and PostgreSQL.

Creating an upload preset looks nothing up first: the primary key (cloud, name) is the only
judge, so a second create is refused by the database itself and the catalog translates that
refusal (SQLite's SQLITE_CONSTRAINT_PRIMARYKEY, PostgreSQL's unique_violation 23505).
"""

from __future__ import annotations

from datetime import UTC, datetime

import cloudinary.api
import httpx
import pytest
import sqlalchemy as sa
from cloudinary.exceptions import AlreadyExists

from darkroom.catalog.errors import duplicate_is_conflict
from darkroom.catalog.schema import upload_presets
from darkroom.errors import Conflict
from tests.admin.conftest import AdminCloud


def test_a_second_preset_of_one_name_is_a_409_with_cloudinarys_message(cloud: AdminCloud) -> None:
    cloudinary.api.create_upload_preset(name="twice", folder="first")
    with pytest.raises(AlreadyExists, match="^Error 409 - Upload preset twice already exists$"):
        cloudinary.api.create_upload_preset(name="twice", folder="second")
    assert cloudinary.api.upload_preset("twice")["settings"]["folder"] == "first"  # the first one stands

    server = cloud.server
    response = httpx.post(f"{server.base_url}/v1_1/{server.cloud}/upload_presets", json={"name": "twice"},
                          auth=(server.api_key, server.api_secret))
    assert response.status_code == 409
    assert response.json() == {"error": {"message": "Upload preset twice already exists"}}
    assert response.headers["X-Cld-Error"] == "Upload preset twice already exists"


def _preset_row(cloud: str, name: str) -> dict[str, object]:
    return {"cloud": cloud, "name": name, "unsigned": False, "disallow_public_id": False, "live": False,
            "settings": {}, "created_at": datetime.now(UTC)}


def test_only_a_duplicate_becomes_a_conflict(cloud: AdminCloud) -> None:
    """A foreign-key refusal is a bug to see as such, not a "try again" for the client."""
    with cloud.engine.begin() as conn:
        conn.execute(sa.insert(upload_presets).values(_preset_row(cloud.server.cloud, "once")))
    with pytest.raises(Conflict, match="^said so$") as caught, duplicate_is_conflict("said so"), cloud.engine.begin() as conn:
        conn.execute(sa.insert(upload_presets).values(_preset_row(cloud.server.cloud, "once")))
    assert isinstance(caught.value.__cause__, sa.exc.IntegrityError)

    with pytest.raises(sa.exc.IntegrityError), duplicate_is_conflict(), cloud.engine.begin() as conn:
        conn.execute(sa.insert(upload_presets).values(_preset_row("no-such-cloud", "orphan")))
