"""One-time form nonces and rate-limit counters, kept in the store so every worker sees them.

A form's nonce is claimed in the transaction of what the form does (or before it, when another
use case owns that transaction); a claimed nonce cannot be claimed again, so a replayed form
records nothing. Counters count attempts per key and fixed window with one upsert.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from keukentafel.store.models import FormUseRow, RateCounterRow
from keukentafel.store.repositories.resident_access import insert_ignoring


class WebGuardRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def claim_nonce(self, nonce_digest: str, purpose: str, now: datetime) -> bool:
        """True for the first claim of a nonce; False when it was used before (a replay)."""
        stmt = insert_ignoring(self.session, FormUseRow, ["nonce_digest"]).returning(
            FormUseRow.nonce_digest
        )
        rows = self.session.execute(
            stmt, [{"nonce_digest": nonce_digest, "purpose": purpose[:32], "used_at": now}]
        ).all()
        return len(rows) == 1

    def forget_nonces_before(self, moment: datetime) -> None:
        """Nonces older than any form can be (a form's own lifetime) are no longer needed."""
        self.session.execute(delete(FormUseRow).where(FormUseRow.used_at < moment))

    def count(self, key: str, window_start: datetime) -> int:
        """Add one attempt to ``key`` in the window; the window's count including this one."""
        dialect = self.session.get_bind().dialect.name
        insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = (
            insert(RateCounterRow)
            .values(key=key[:120], window_start=window_start, count=1)
            .on_conflict_do_update(
                index_elements=["key", "window_start"],
                set_={"count": RateCounterRow.count + 1},
            )
            .returning(RateCounterRow.count)
        )
        return int(self.session.execute(stmt).scalar_one())

    def attempts(self, key: str, window_start: datetime) -> int:
        found = self.session.scalar(
            select(RateCounterRow.count).where(
                RateCounterRow.key == key[:120], RateCounterRow.window_start == window_start
            )
        )
        return int(found or 0)

    def forget_windows_before(self, moment: datetime, keep: timedelta = timedelta(0)) -> None:
        self.session.execute(
            delete(RateCounterRow).where(RateCounterRow.window_start < moment - keep)
        )
