"""Events found by type: the day checkpoints start-up and the day list look for.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_events_type_seq", "events", ["type", "seq"])


def downgrade() -> None:
    op.drop_index("ix_events_type_seq", table_name="events")
