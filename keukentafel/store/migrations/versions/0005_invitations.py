"""invitations

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 18:53:53.248065
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "invitations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("corporation_code", sa.String(length=64), nullable=False),
        sa.Column("uid", sa.String(length=120), nullable=False),
        sa.Column("unit_code", sa.String(length=64), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitations")),
        sa.UniqueConstraint(
            "corporation_code", "uid", name=op.f("uq_invitations_corporation_code_uid")
        ),
    )


def downgrade() -> None:

    op.drop_table("invitations")
