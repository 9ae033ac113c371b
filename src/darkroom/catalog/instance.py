"""Secrets a deployment's servers share (`instance_secrets`): made by the first to ask, read by the rest."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from darkroom.catalog.schema import instance_secrets

__all__ = ["shared_secret"]


def shared_secret(engine: Engine, name: str, candidate: str) -> str:
    """The secret called `name`; `candidate` becomes it if none exists yet (the first writer wins)."""
    with engine.begin() as conn:
        existing = conn.execute(sa.select(instance_secrets.c.value).where(instance_secrets.c.name == name)).scalar()
        if existing is not None:
            return str(existing)
        try:
            with conn.begin_nested():
                conn.execute(sa.insert(instance_secrets).values(name=name, value=candidate))
        except sa.exc.IntegrityError:
            pass  # another server made it meanwhile
        return str(conn.execute(sa.select(instance_secrets.c.value).where(instance_secrets.c.name == name)).scalar_one())
