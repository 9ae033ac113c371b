"""Engines for the search tests: SQLite in a temp folder, and PostgreSQL in a schema of its own.

Each test session gets a fresh PostgreSQL schema (dropped at the end), so concurrent runs on
the shared server do not collide.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from darkroom.catalog.db import create_engine_for
from darkroom.catalog.schema import metadata

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _postgres_engine() -> tuple[Engine, str] | None:
    schema = "search_" + secrets.token_hex(4)
    admin = sa.create_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError:
        return None
    finally:
        admin.dispose()
    engine = sa.create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    return engine, schema


@pytest.fixture(scope="session")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    path: Path = tmp_path_factory.mktemp("search") / "search.db"
    engine = create_engine_for(f"sqlite:///{path}")  # foreign keys on, as the app has them
    metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def postgres_engine() -> Iterator[Engine]:
    made = _postgres_engine()
    if made is None:
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    engine, schema = made
    metadata.create_all(engine)
    yield engine
    engine.dispose()
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest) -> Engine:
    name = "sqlite_engine" if request.param == "sqlite" else "postgres_engine"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]
