"""one outbox message per recipient; a mailing keeps its content, its units and what it corrects

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 10:00:00.000000

The outbox's identity becomes mailing + unit + channel + recipient (every party of a household
with an e-mail address gets its own message). Rows queued before keep their message id (it is
the one they were, or will be, sent with) and get their dedupe key recomputed from the recipient
they stored, so a mailing prepared before and prepared again after this revision adds nothing.
The formula is written out here, as it stands today, on purpose: a migration must not change
when the application's code does (keukentafel/domain/outbox.py has the same one).

Mailings get ``follows`` (the mailing_id a correction corrects), ``content`` (the event and
details as given) and ``recipients`` (the unit codes written to).
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _key(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]


def _recipient(text: str) -> str:
    return " ".join(text.split()).casefold()


def _rekey(new: bool) -> None:
    """Recompute every outbox row's dedupe key with (``new``) or without the recipient. Going
    back, only the first row of a mailing, unit and channel gets the old key (the others keep
    theirs: the old identity had room for one)."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.text("SELECT id, mailing_key, unit_code, channel, recipient FROM outbox ORDER BY id")
    ).all()
    seen: set[tuple[str, str, str]] = set()
    updates = []
    for row_id, mailing_key, unit_code, channel, recipient in rows:
        if new:
            key = _key(mailing_key, unit_code, channel, _recipient(recipient))
        elif (mailing_key, unit_code, channel) not in seen:
            seen.add((mailing_key, unit_code, channel))
            key = _key(mailing_key, unit_code, channel)
        else:
            continue
        updates.append({"id": row_id, "key": key})
    for start in range(0, len(updates), 1000):
        bind.execute(
            sa.text("UPDATE outbox SET dedupe_key = :key WHERE id = :id"),
            updates[start : start + 1000],
        )


def upgrade() -> None:
    _rekey(new=True)
    with op.batch_alter_table("mailings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("follows", sa.String(length=60), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("content", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("recipients", sa.JSON(), nullable=True))
    with op.batch_alter_table("mailings", schema=None) as batch_op:
        batch_op.alter_column("follows", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("mailings", schema=None) as batch_op:
        batch_op.drop_column("recipients")
        batch_op.drop_column("content")
        batch_op.drop_column("follows")
    _rekey(new=False)
