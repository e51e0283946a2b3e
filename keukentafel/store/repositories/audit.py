"""The audit log: append-only. Record an event in the caller's transaction; read it back.

Call it from the code that does the audited thing, in the same transaction, so the act and its
record are committed together::

    with sessions.begin() as session:
        ...  # the act itself
        AuditLog(session).record(
            AuditEvent(AuditKind.CONSENT_CHANGED, corporation, actor, at=now,
                       unit_code=unit, subject=f"entry:{entry_id}")
        )

There is no method that updates or deletes a row, and the table refuses an UPDATE (migration
0011). What an event may hold is checked by keukentafel/domain/audit.py: identifiers and counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from keukentafel.domain.audit import AuditEntry, AuditEvent, AuditKind
from keukentafel.store.models import AuditRow
from keukentafel.store.repositories._bulk import chunks


def _values(event: AuditEvent) -> dict[str, Any]:
    return {
        "corporation_code": event.corporation_code,
        "at": event.at,
        "kind": event.kind,
        "actor": event.actor,
        "unit_code": event.unit_code,
        "subject": event.subject,
        "detail": {k: list(v) if isinstance(v, tuple) else v for k, v in event.detail.items()},
    }


def _entry(row: AuditRow) -> AuditEntry:
    detail = {k: tuple(v) if isinstance(v, list) else v for k, v in row.detail.items()}
    return AuditEntry(
        row.id,
        AuditEvent(
            row.kind,
            row.corporation_code,
            row.actor,
            at=row.at,
            unit_code=row.unit_code,
            subject=row.subject,
            detail=detail,
        ),
    )


class AuditLog:
    """The audit log, over the caller's session (which owns the transaction)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def record(self, event: AuditEvent) -> int:
        """Append one event; returns its id."""
        row = AuditRow(**_values(event))
        self.session.add(row)
        self.session.flush()
        return row.id

    def record_all(self, events: Iterable[AuditEvent]) -> int:
        """Append many events at once (a purge's units); returns how many."""
        rows = [_values(event) for event in events]
        for chunk in chunks(rows, 1000):
            self.session.execute(insert(AuditRow), list(chunk))
        return len(rows)

    def events(
        self,
        corporation_code: str,
        *,
        unit_code: str | None = None,
        kinds: Iterable[AuditKind] | None = None,
        since: datetime | None = None,
    ) -> list[AuditEntry]:
        """The corporation's events, oldest first; only one unit's, some kinds, or since a time
        (naive UTC) when asked."""
        query = select(AuditRow).where(AuditRow.corporation_code == corporation_code)
        if unit_code is not None:
            query = query.where(AuditRow.unit_code == unit_code)
        if kinds is not None:
            query = query.where(AuditRow.kind.in_([AuditKind(k) for k in kinds]))
        if since is not None:
            query = query.where(AuditRow.at >= since)
        return [_entry(row) for row in self.session.scalars(query.order_by(AuditRow.id))]
