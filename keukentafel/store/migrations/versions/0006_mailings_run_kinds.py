"""mailings; sync runs get a kind and an interrupted outcome

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 23:30:00.000000

Runs recorded before this revision are told apart the way the code did until now: the team-list
sources were named ``m365_list`` and ``m365_workbook``; every other run was a register sync. A
run that a later run found still running was recorded as failed with an "interrupted:" message;
it becomes ``interrupted``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), nullable=False, server_default="register_sync")
        )
    op.execute(
        "UPDATE sync_runs SET kind = 'team_pull' WHERE source IN ('m365_list', 'm365_workbook')"
    )
    op.execute(
        "UPDATE sync_runs SET outcome = 'interrupted' "
        "WHERE outcome = 'failed' AND message LIKE 'interrupted:%'"
    )
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.alter_column("kind", server_default=None)
        batch_op.create_index("ix_sync_runs_corp_kind", ["corporation_code", "kind"], unique=False)

    op.create_table(
        "mailings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("corporation_code", sa.String(length=64), nullable=False),
        sa.Column("project_code", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("mailing_id", sa.String(length=60), nullable=False),
        sa.Column("content_digest", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("started_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mailings")),
        sa.UniqueConstraint(
            "corporation_code",
            "project_code",
            "kind",
            "mailing_id",
            name=op.f("uq_mailings_corporation_code_project_code_kind_mailing_id"),
        ),
    )


def downgrade() -> None:
    op.drop_table("mailings")
    op.execute("UPDATE sync_runs SET outcome = 'failed' WHERE outcome = 'interrupted'")
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_runs_corp_kind")
        batch_op.drop_column("kind")
