"""consent ledger: entries (append-only, guarded by triggers), parties, one lock row per project

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-12 10:00:00.000000

The ledger of art. 7:220 consent answers is append-only in fact: on both SQLite and PostgreSQL a
trigger refuses every UPDATE and DELETE of a ``consent_entries`` row. The statements are copied
here (a migration does not import the models it predates); keukentafel.store.models.LEDGER_GUARDS
holds the same, and tests/store/test_consent_store.py checks a freshly migrated database refuses.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_GUARDS = {
    "sqlite": (
        (
            "CREATE TRIGGER consent_entries_no_update BEFORE UPDATE ON consent_entries "
            "BEGIN SELECT RAISE(ABORT, 'consent_entries is append-only: UPDATE refused'); END",
            "CREATE TRIGGER consent_entries_no_delete BEFORE DELETE ON consent_entries "
            "BEGIN SELECT RAISE(ABORT, 'consent_entries is append-only: DELETE refused'); END",
        ),
        (
            "DROP TRIGGER IF EXISTS consent_entries_no_update",
            "DROP TRIGGER IF EXISTS consent_entries_no_delete",
        ),
    ),
    "postgresql": (
        (
            "CREATE FUNCTION consent_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'consent_entries is append-only: % refused', TG_OP; END $$",
            "CREATE TRIGGER consent_entries_append_only BEFORE UPDATE OR DELETE ON consent_entries "
            "FOR EACH ROW EXECUTE FUNCTION consent_entries_append_only()",
        ),
        (
            "DROP TRIGGER IF EXISTS consent_entries_append_only ON consent_entries",
            "DROP FUNCTION IF EXISTS consent_entries_append_only()",
        ),
    ),
}


def upgrade() -> None:
    op.create_table(
        "consent_entries",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("corporation_code", sa.String(length=64), nullable=False),
        sa.Column("project_code", sa.String(length=64), nullable=False),
        sa.Column("entry_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=True),
        sa.Column("sent_on", sa.Date(), nullable=True),
        sa.Column("unit_code", sa.String(length=64), nullable=False),
        sa.Column("lease_id", sa.String(length=64), nullable=False),
        sa.Column("parties", sa.JSON(), nullable=False),
        sa.Column("choice", sa.String(length=8), nullable=True),
        sa.Column("package", sa.String(length=64), nullable=True),
        sa.Column("channel", sa.String(length=8), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("evidence_file", sa.String(length=255), nullable=True),
        sa.Column("evidence_sha256", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_consent_entries")),
        sa.UniqueConstraint(
            "corporation_code",
            "project_code",
            "entry_id",
            name=op.f("uq_consent_entries_corporation_code_project_code_entry_id"),
        ),
    )
    op.create_index(
        "ix_consent_entries_project",
        "consent_entries",
        ["corporation_code", "project_code", "seq"],
        unique=False,
    )
    op.create_table(
        "consent_parties",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("corporation_code", sa.String(length=64), nullable=False),
        sa.Column("relation_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("forgotten_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_parties")),
        sa.UniqueConstraint(
            "corporation_code",
            "relation_id",
            name=op.f("uq_consent_parties_corporation_code_relation_id"),
        ),
    )
    op.create_table(
        "consent_ledgers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("corporation_code", sa.String(length=64), nullable=False),
        sa.Column("project_code", sa.String(length=64), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_ledgers")),
        sa.UniqueConstraint(
            "corporation_code",
            "project_code",
            name=op.f("uq_consent_ledgers_corporation_code_project_code"),
        ),
    )
    create, _ = _GUARDS[op.get_bind().dialect.name]
    for statement in create:
        op.execute(statement)


def downgrade() -> None:
    _, drop = _GUARDS[op.get_bind().dialect.name]
    for statement in drop:
        op.execute(statement)
    op.drop_table("consent_ledgers")
    op.drop_table("consent_parties")
    op.drop_index("ix_consent_entries_project", table_name="consent_entries")
    op.drop_table("consent_entries")
