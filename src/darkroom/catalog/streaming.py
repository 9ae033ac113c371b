"""Adaptive-streaming profiles: Cloudinary's predefined ones, and custom ones a cloud stores.

A profile is an ordered list of representations, each a transformation string
(`br_5m,c_limit,h_1080,w_1920,vc_h264`); the video part renders them as HLS/DASH variants.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from darkroom.catalog.errors import duplicate_is_conflict
from darkroom.catalog.schema import streaming_profiles
from darkroom.errors import Conflict, Invalid, NotFound

__all__ = ["PREDEFINED", "StreamingProfileNotFound", "list_profiles", "get_profile", "create_profile", "update_profile", "delete_profile"]


class StreamingProfileNotFound(NotFound):
    pass


def _ladder(*rungs: tuple[int, int, str]) -> list[dict[str, str]]:
    return [{"transformation": f"br_{rate},c_limit,h_{h},w_{w}"} for w, h, rate in rungs]


_UHD = (3840, 2160, "18m")
_FHD = (1920, 1080, "5.5m")
_HD = (1280, 720, "3.5m")
_SD = [(960, 540, "2m"), (640, 360, "0.8m"), (480, 270, "0.6m"), (320, 240, "0.4m")]

# name → (display_name, representations)
PREDEFINED: dict[str, tuple[str, list[dict[str, str]]]] = {
    "4k": ("4K (2160p)", _ladder(_UHD, (2560, 1440, "12m"), _FHD, _HD, *_SD)),
    "full_hd": ("Full HD (1080p)", _ladder(_FHD, _HD, *_SD)),
    "hd": ("HD (720p)", _ladder(_HD, *_SD)),
    "sd": ("SD (540p)", _ladder(*_SD)),
    "full_hd_wifi": ("Full HD WiFi (1080p)", _ladder(_FHD, _HD, _SD[0])),
    "full_hd_lean": ("Full HD Lean (1080p)", _ladder(_FHD, _HD, _SD[1])),
    "hd_lean": ("HD Lean (720p)", _ladder(_HD, _SD[1], _SD[3])),
}


def _json(name: str, display_name: str | None, representations: list[dict[str, str]], predefined: bool) -> dict[str, Any]:
    return {"name": name, "display_name": display_name, "predefined": predefined, "representations": representations}


def list_profiles(engine: Engine, cloud: str) -> list[dict[str, Any]]:
    items = [_json(name, display, reps, True) for name, (display, reps) in PREDEFINED.items()]
    with engine.connect() as conn:
        rows = conn.execute(sa.select(streaming_profiles).where(streaming_profiles.c.cloud == cloud).order_by(streaming_profiles.c.name))
        items += [_json(r.name, r.display_name, list(r.representations), False) for r in rows]
    return items


def get_profile(engine: Engine, cloud: str, name: str) -> dict[str, Any]:
    if name in PREDEFINED:
        display, reps = PREDEFINED[name]
        return _json(name, display, reps, True)
    with engine.connect() as conn:
        row = conn.execute(sa.select(streaming_profiles).where(_where(cloud, name))).first()
    if row is None:
        raise StreamingProfileNotFound(f"Streaming profile {name} not found")
    return _json(row.name, row.display_name, list(row.representations), False)


def _where(cloud: str, name: str) -> sa.ColumnElement[bool]:
    return sa.and_(streaming_profiles.c.cloud == cloud, streaming_profiles.c.name == name)


def _check(representations: Any) -> list[dict[str, str]]:
    if not isinstance(representations, list) or not representations:
        raise Invalid("Missing required parameter - representations")
    out = []
    for item in representations:
        if not isinstance(item, dict) or not isinstance(item.get("transformation"), str):
            raise Invalid("Each representation needs a transformation")
        out.append({"transformation": item["transformation"]})
    return out


def create_profile(engine: Engine, cloud: str, name: str, display_name: str | None, representations: Any) -> dict[str, Any]:
    if not name:
        raise Invalid("Missing required parameter - name")
    reps = _check(representations)
    duplicate = f"Streaming profile {name} already exists"
    with duplicate_is_conflict(duplicate), engine.begin() as conn:
        if name in PREDEFINED or conn.execute(sa.select(streaming_profiles.c.name).where(_where(cloud, name))).first():
            raise Conflict(duplicate)
        conn.execute(sa.insert(streaming_profiles).values(cloud=cloud, name=name, display_name=display_name,
                                                          representations=reps, created_at=datetime.now(UTC)))
    return _json(name, display_name, reps, False)


def update_profile(engine: Engine, cloud: str, name: str, display_name: str | None, representations: Any) -> dict[str, Any]:
    if name in PREDEFINED:
        raise Invalid(f"Predefined streaming profile {name} cannot be changed")
    current = get_profile(engine, cloud, name)
    values: dict[str, Any] = {}
    if display_name is not None:
        values["display_name"] = display_name
    if representations is not None:
        values["representations"] = _check(representations)
    if values:
        with engine.begin() as conn:
            conn.execute(sa.update(streaming_profiles).where(_where(cloud, name)).values(**values))
    return {**current, **values}


def delete_profile(engine: Engine, cloud: str, name: str) -> dict[str, Any]:
    if name in PREDEFINED:
        raise Invalid(f"Predefined streaming profile {name} cannot be deleted")
    current = get_profile(engine, cloud, name)
    with engine.begin() as conn:
        conn.execute(sa.delete(streaming_profiles).where(_where(cloud, name)))
    return current
