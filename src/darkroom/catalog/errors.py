"""Errors of the catalog.

    DarkroomError
    ├── NotFound ── CloudNotFound, AssetNotFound, PresetNotFound
    ├── BadRequest ── InvalidPublicId
    └── Conflict ── AssetExists
"""

from __future__ import annotations

from darkroom.errors import BadRequest, Conflict, NotFound


class CloudNotFound(NotFound):
    pass


class AssetNotFound(NotFound):
    pass


class PresetNotFound(NotFound):
    pass


class InvalidPublicId(BadRequest):
    pass


class AssetExists(Conflict):
    pass
