"""outbox: a next-attempt time and a count of the service's "later" answers

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 10:00:00.000000

A message that Microsoft 365 throttled (429) waits as ``waiting`` until ``next_attempt_at``; one
answered 503 stays ``sending`` (in doubt) until then. ``deferrals`` counts those answers for the
back-off; they are not attempts. Existing rows get no next-attempt time and no deferrals.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_attempt_at", sa.DateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("deferrals", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column("deferrals", server_default=None)


def downgrade() -> None:
    # Before this revision a waiting message was pending: it goes at the next dispatch.
    op.execute("UPDATE outbox SET status = 'pending' WHERE status = 'waiting'")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("deferrals")
        batch_op.drop_column("next_attempt_at")
