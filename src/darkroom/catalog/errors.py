"""Errors of the catalog.

    DarkroomError
    ├── NotFound ── CloudNotFound, AssetNotFound, PresetNotFound
    ├── Invalid ── InvalidPublicId
    └── Conflict ── AssetExists
"""

from __future__ import annotations

from darkroom.errors import Conflict, Invalid, NotFound


class CloudNotFound(NotFound):
    pass


class AssetNotFound(NotFound):
    pass


class PresetNotFound(NotFound):
    pass


class InvalidPublicId(Invalid):
    pass


class AssetExists(Conflict):
    pass
