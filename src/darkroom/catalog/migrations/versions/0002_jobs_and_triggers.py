"""The job journal and notification triggers (tables `jobs`, `notification_triggers`).

Revision ID: 0002
Revises: 0001
A database made by 0001 after these tables joined schema.py already has them (0001 creates
the schema as declared), so only missing tables are created.
"""

from alembic import op

from darkroom.catalog.schema import jobs, notification_triggers

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in (jobs, notification_triggers):
        table.create(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    for table in (notification_triggers, jobs):
        table.drop(op.get_bind(), checkfirst=True)
