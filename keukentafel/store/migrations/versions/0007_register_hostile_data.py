"""units get the official short street name; names and addresses become free text

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08 09:00:00.000000

Issue 9: ``units.street_short`` holds the official shortened street name (BAG ``korteNaam``) where
a source has one. Street, town and house-number addition, and the residents' names, become TEXT:
a very long name or street from the ERP must be stored whole, not refused by PostgreSQL in the
middle of a sync. Role dates and contact-point problems live in the JSON columns (``parties``,
``contacts``) and need no column.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_UNIT_TEXT = {"street": 200, "town": 200, "addition": 16}
_RESIDENT_TEXT = {
    "initials": 200,
    "first_name": 200,
    "tussenvoegsel": 200,
    "surname": 200,
    "organisation_name": 200,
}


def upgrade() -> None:
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("street_short", sa.String(length=64), nullable=False, server_default="")
        )
        for name, length in _UNIT_TEXT.items():
            batch_op.alter_column(
                name,
                existing_type=sa.String(length=length),
                type_=sa.Text(),
                existing_nullable=False,
            )
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.alter_column("street_short", server_default=None)
    with op.batch_alter_table("residents", schema=None) as batch_op:
        for name, length in _RESIDENT_TEXT.items():
            batch_op.alter_column(
                name,
                existing_type=sa.String(length=length),
                type_=sa.Text(),
                existing_nullable=False,
            )


def downgrade() -> None:
    with op.batch_alter_table("residents", schema=None) as batch_op:
        for name, length in _RESIDENT_TEXT.items():
            batch_op.alter_column(
                name,
                existing_type=sa.Text(),
                type_=sa.String(length=length),
                existing_nullable=False,
            )
    with op.batch_alter_table("units", schema=None) as batch_op:
        for name, length in _UNIT_TEXT.items():
            batch_op.alter_column(
                name,
                existing_type=sa.Text(),
                type_=sa.String(length=length),
                existing_nullable=False,
            )
        batch_op.drop_column("street_short")
