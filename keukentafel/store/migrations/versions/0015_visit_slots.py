"""a guide's planned home visit holds its time: one per guide and start

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 03:50:00

A unique partial index on the planned (``GEP``) home visits with a guide, so that two residents
who pick the same free slot on their page cannot both get it: the second insert (or move) fails
and the booking says the slot was taken. Visits that are requested, done or cancelled are not in
it. A store that already holds two planned visits of one guide at one start refuses the upgrade;
move one of them first (``keukentafel planning move``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_WHERE = "kind = 'home_visit' AND status = 'GEP' AND guide <> ''"  # models.VISIT_SLOT_WHERE


def upgrade() -> None:
    op.create_index(
        "ux_appointments_guide_visit",
        "appointments",
        ["corporation_code", "guide", "start"],
        unique=True,
        sqlite_where=sa.text(_WHERE),
        postgresql_where=sa.text(_WHERE),
    )


def downgrade() -> None:
    op.drop_index("ux_appointments_guide_visit", table_name="appointments")
