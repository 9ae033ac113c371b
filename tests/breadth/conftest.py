"""Fixtures for the API-breadth tests: the Admin tests' fresh cloud per test (on SQLite and
PostgreSQL) with the SDK configured for it, and a small PNG."""

from __future__ import annotations

from tests.admin.conftest import AdminCloud, cloud, png
from tests.api.conftest import file_server

__all__ = ["AdminCloud", "cloud", "file_server", "png"]
