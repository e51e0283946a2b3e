"""source pages

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 18:12:48.892318
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "source_pages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("corporation_code", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("page_key", sa.String(length=64), nullable=False),
        sa.Column("summary", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source_pages")),
        sa.UniqueConstraint(
            "corporation_code",
            "source",
            "page_key",
            name=op.f("uq_source_pages_corporation_code_source_page_key"),
        ),
    )


def downgrade() -> None:
    op.drop_table("source_pages")
