"""Only the desk's and the triggers' events found by type: an order's events stay out of the
(type, seq) index.

Those are the events looked for by type (day checkpoints, reconciliations, conversions); an
order's are read by its stream. Every type a commit held was one more page of the index written
with it: the intent's commit, carrying the previous answer and the first look's statuses, wrote
eight or nine pages, four of them this index's. Daemon CPU per order without them: 0.83-0.91 ms
against 0.89-0.97 (``bench_api_path``'s daemon, four alternating runs of 1,500 signals).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

KEPT = "stream IN ('desk', 'triggers')"


def upgrade() -> None:
    op.drop_index("ix_events_type_seq", table_name="events")
    op.create_index(
        "ix_events_kept_type_seq",
        "events",
        ["type", "seq"],
        sqlite_where=sa.text(KEPT),
        postgresql_where=sa.text(KEPT),
    )


def downgrade() -> None:
    op.drop_index("ix_events_kept_type_seq", table_name="events")
    op.create_index("ix_events_type_seq", "events", ["type", "seq"])
