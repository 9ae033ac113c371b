"""The first schema: every table declared in catalog/schema.py.

Revision ID: 0001
Revises:
Until darkroom's first release this revision creates the schema as declared; from then on
each change to schema.py gets a revision of its own.
"""

from alembic import op

from darkroom.catalog.schema import metadata

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    metadata.drop_all(op.get_bind())
