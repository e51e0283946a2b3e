"""team contacts and connector state

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 17:52:04.608236
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "connector_state",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("corporation_code", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connector_state")),
        sa.UniqueConstraint(
            "corporation_code", "key", name=op.f("uq_connector_state_corporation_code_key")
        ),
    )
    op.create_table(
        "team_contacts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("corporation_code", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("row_key", sa.String(length=64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("removed_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_contacts")),
        sa.UniqueConstraint(
            "corporation_code",
            "source",
            "row_key",
            name=op.f("uq_team_contacts_corporation_code_source_row_key"),
        ),
    )


def downgrade() -> None:

    op.drop_table("team_contacts")
    op.drop_table("connector_state")
