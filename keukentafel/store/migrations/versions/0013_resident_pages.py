"""the resident's page and the staff page: issued links and codes, letters per household,
open items, one-time form nonces and rate-limit counters

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 00:15:58.388416

New tables only; nothing existing changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "open_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("corporation_code", sa.String(length=64), nullable=False),
        sa.Column("project_code", sa.String(length=64), nullable=False),
        sa.Column("unit_code", sa.String(length=64), nullable=False),
        sa.Column("tenancy", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("source_ref", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("closed_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open_items")),
        sa.UniqueConstraint(
            "corporation_code", "source_ref", name=op.f("uq_open_items_corporation_code_source_ref")
        ),
        sa.UniqueConstraint("public_id", name=op.f("uq_open_items_public_id")),
    )
    with op.batch_alter_table("open_items", schema=None) as batch_op:
        batch_op.create_index(
            "ix_open_items_project", ["corporation_code", "project_code", "status"], unique=False
        )

    op.create_table(
        "resident_access",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("corporation_code", sa.String(length=64), nullable=False),
        sa.Column("project_code", sa.String(length=64), nullable=False),
        sa.Column("unit_code", sa.String(length=64), nullable=False),
        sa.Column("tenancy", sa.String(length=200), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("code_digest", sa.String(length=64), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("first_used_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resident_access")),
        sa.UniqueConstraint("code_digest", name=op.f("uq_resident_access_code_digest")),
        sa.UniqueConstraint("public_id", name=op.f("uq_resident_access_public_id")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_resident_access_token_digest")),
    )
    with op.batch_alter_table("resident_access", schema=None) as batch_op:
        batch_op.create_index(
            "ix_resident_access_unit",
            ["corporation_code", "project_code", "unit_code"],
            unique=False,
        )

    op.create_table(
        "resident_letters",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("corporation_code", sa.String(length=64), nullable=False),
        sa.Column("project_code", sa.String(length=64), nullable=False),
        sa.Column("unit_code", sa.String(length=64), nullable=False),
        sa.Column("tenancy", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("mailing_key", sa.String(length=120), nullable=False),
        sa.Column("letter_date", sa.Date(), nullable=False),
        sa.Column("file", sa.String(length=400), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resident_letters")),
        sa.UniqueConstraint(
            "mailing_key", "unit_code", name=op.f("uq_resident_letters_mailing_key_unit_code")
        ),
        sa.UniqueConstraint("public_id", name=op.f("uq_resident_letters_public_id")),
    )
    with op.batch_alter_table("resident_letters", schema=None) as batch_op:
        batch_op.create_index(
            "ix_resident_letters_unit", ["corporation_code", "unit_code"], unique=False
        )

    op.create_table(
        "web_form_uses",
        sa.Column("nonce_digest", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("nonce_digest", name=op.f("pk_web_form_uses")),
    )
    with op.batch_alter_table("web_form_uses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_form_uses_used_at"), ["used_at"], unique=False)

    op.create_table(
        "web_rate_counters",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("window_start", sa.DateTime(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_rate_counters")),
        sa.UniqueConstraint(
            "key", "window_start", name=op.f("uq_web_rate_counters_key_window_start")
        ),
    )
    with op.batch_alter_table("web_rate_counters", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_web_rate_counters_window_start"), ["window_start"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("web_rate_counters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_rate_counters_window_start"))

    op.drop_table("web_rate_counters")
    with op.batch_alter_table("web_form_uses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_form_uses_used_at"))

    op.drop_table("web_form_uses")
    with op.batch_alter_table("resident_letters", schema=None) as batch_op:
        batch_op.drop_index("ix_resident_letters_unit")

    op.drop_table("resident_letters")
    with op.batch_alter_table("resident_access", schema=None) as batch_op:
        batch_op.drop_index("ix_resident_access_unit")

    op.drop_table("resident_access")
    with op.batch_alter_table("open_items", schema=None) as batch_op:
        batch_op.drop_index("ix_open_items_project")

    op.drop_table("open_items")
