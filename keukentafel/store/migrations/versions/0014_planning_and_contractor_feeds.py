"""planning and contractor feeds: sessions, appointments, feed items and changes, the webhook
outbox, the contractor inbox and the ERP writes

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 00:14:11.932558
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "appointments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("corporation_code", sa.String(length=64), nullable=False),
        sa.Column("project_code", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("unit_code", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=3), nullable=False),
        sa.Column("start", sa.DateTime(), nullable=True),
        sa.Column("end", sa.DateTime(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("location_name", sa.String(length=200), nullable=False),
        sa.Column("location_address", sa.String(length=200), nullable=False),
        sa.Column("guide", sa.String(length=200), nullable=False),
        sa.Column("session_code", sa.String(length=64), nullable=False),
        sa.Column("contractor_code", sa.String(length=64), nullable=False),
        sa.Column("element", sa.String(length=64), nullable=False),
        sa.Column("team", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("notified_version", sa.Integer(), nullable=False),
        sa.Column("told_start", sa.DateTime(), nullable=True),
        sa.Column("told_end", sa.DateTime(), nullable=True),
        sa.Column("delay_reason", sa.Text(), nullable=False),
        sa.Column("calendar_event_id", sa.String(length=200), nullable=False),
        sa.Column("calendar_version", sa.Integer(), nullable=False),
        sa.Column("booked_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointments")),
        sa.UniqueConstraint(
            "corporation_code", "code", name=op.f("uq_appointments_corporation_code_code")
        ),
    )
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_appointments_contractor", ["corporation_code", "contractor_code"], unique=False
        )
        batch_op.create_index(
            "ix_appointments_unit", ["corporation_code", "unit_code"], unique=False
        )

    op.create_table(
        "erp_writes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("corporation_code", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("write_key", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("unit_code", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("remote_id", sa.String(length=120), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erp_writes")),
        sa.UniqueConstraint(
            "corporation_code",
            "write_key",
            "version",
            name=op.f("uq_erp_writes_corporation_code_write_key_version"),
        ),
    )
    with op.batch_alter_table("erp_writes", schema=None) as batch_op:
        batch_op.create_index("ix_erp_writes_status", ["corporation_code", "status"], unique=False)

    op.create_table(
        "feed_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("corporation_code", sa.String(length=64), nullable=False),
        sa.Column("contractor_code", sa.String(length=64), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("item_key", sa.String(length=120), nullable=False),
        sa.Column("item_type", sa.String(length=16), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_changes")),
        sa.UniqueConstraint(
            "corporation_code",
            "contractor_code",
            "sequence",
            name=op.f("uq_feed_changes_corporation_code_contractor_code_sequence"),
        ),
    )
    op.create_table(
        "feed_endpoints",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("corporation_code", sa.String(length=64), nullable=False),
        sa.Column("contractor_code", sa.String(length=64), nullable=False),
        sa.Column("last_sequence", sa.Integer(), nullable=False),
        sa.Column("disabled_at", sa.DateTime(), nullable=True),
        sa.Column("disabled_reason", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_endpoints")),
        sa.UniqueConstraint(
            "corporation_code",
            "contractor_code",
            name=op.f("uq_feed_endpoints_corporation_code_contractor_code"),
        ),
    )
    op.create_table(
        "feed_inbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("corporation_code", sa.String(length=64), nullable=False),
        sa.Column("contractor_code", sa.String(length=64), nullable=False),
        sa.Column("message_id", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("applied", sa.Integer(), nullable=False),
        sa.Column("refused", sa.JSON(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_inbox")),
        sa.UniqueConstraint(
            "corporation_code",
            "contractor_code",
            "message_id",
            name=op.f("uq_feed_inbox_corporation_code_contractor_code_message_id"),
        ),
    )
    op.create_table(
        "feed_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("corporation_code", sa.String(length=64), nullable=False),
        sa.Column("contractor_code", sa.String(length=64), nullable=False),
        sa.Column("item_key", sa.String(length=120), nullable=False),
        sa.Column("digest", sa.String(length=32), nullable=False),
        sa.Column("source_digest", sa.String(length=32), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("removed", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_items")),
        sa.UniqueConstraint(
            "corporation_code",
            "contractor_code",
            "item_key",
            name=op.f("uq_feed_items_corporation_code_contractor_code_item_key"),
        ),
    )
    op.create_table(
        "planning_sessions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("corporation_code", sa.String(length=64), nullable=False),
        sa.Column("project_code", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("start", sa.DateTime(), nullable=False),
        sa.Column("end", sa.DateTime(), nullable=False),
        sa.Column("location_name", sa.String(length=200), nullable=False),
        sa.Column("location_address", sa.String(length=200), nullable=False),
        sa.Column("guide", sa.String(length=200), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("booked", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_planning_sessions")),
        sa.UniqueConstraint(
            "corporation_code", "code", name=op.f("uq_planning_sessions_corporation_code_code")
        ),
    )
    op.create_table(
        "webhook_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("corporation_code", sa.String(length=64), nullable=False),
        sa.Column("contractor_code", sa.String(length=64), nullable=False),
        sa.Column("webhook_id", sa.String(length=100), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("first_sequence", sa.Integer(), nullable=False),
        sa.Column("last_sequence", sa.Integer(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("last_status", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_outbox")),
        sa.UniqueConstraint("webhook_id", name=op.f("uq_webhook_outbox_webhook_id")),
    )
    with op.batch_alter_table("webhook_outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_webhook_outbox_due", ["corporation_code", "contractor_code", "status"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_outbox_due")

    op.drop_table("webhook_outbox")
    op.drop_table("planning_sessions")
    op.drop_table("feed_items")
    op.drop_table("feed_inbox")
    op.drop_table("feed_endpoints")
    op.drop_table("feed_changes")
    with op.batch_alter_table("erp_writes", schema=None) as batch_op:
        batch_op.drop_index("ix_erp_writes_status")

    op.drop_table("erp_writes")
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_index("ix_appointments_unit")
        batch_op.drop_index("ix_appointments_contractor")

    op.drop_table("appointments")
