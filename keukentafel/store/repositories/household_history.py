"""Reads for the staff page across the outbox (no writes here; restricted notes are read only
through the audited keukentafel/store/repositories/restricted_notes.py).

The outbox's own repository serves the dispatcher; the staff page needs other questions of it
(what went to a household, and when the last message went to each unit), asked here read-only.
Restricted notes are read only by the staff page's audited view.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from keukentafel.store.models import OutboxRow


@dataclass(frozen=True, slots=True)
class SentEmail:
    subject: str
    status: str
    queued_at: datetime
    sent_at: datetime | None
    mailing_key: str


@dataclass(frozen=True, slots=True)
class Note:
    relation_id: str
    text: str
    author: str
    created_at: datetime


class HouseholdHistoryRepository:
    def __init__(self, session: Session, corporation_code: str) -> None:
        self.session = session
        self.corporation = corporation_code

    def emails(self, project_code: str, unit_code: str) -> list[SentEmail]:
        """The e-mails queued for a unit in the project's mailings, newest first."""
        rows = self.session.execute(
            select(
                OutboxRow.subject,
                OutboxRow.status,
                OutboxRow.created_at,
                OutboxRow.sent_at,
                OutboxRow.mailing_key,
            )
            .where(
                OutboxRow.corporation_code == self.corporation,
                OutboxRow.unit_code == unit_code,
                OutboxRow.mailing_key.like(f"{self.corporation}/{project_code}/%"),
            )
            .order_by(OutboxRow.created_at.desc(), OutboxRow.id.desc())
        )
        return [SentEmail(str(s), str(st), c, t, k) for s, st, c, t, k in rows]

    def last_email_per_unit(self, project_code: str) -> dict[str, datetime]:
        """When the last e-mail of the project's mailings went out to each unit."""
        rows = self.session.execute(
            select(OutboxRow.unit_code, func.max(OutboxRow.sent_at))
            .where(
                OutboxRow.corporation_code == self.corporation,
                OutboxRow.mailing_key.like(f"{self.corporation}/{project_code}/%"),
                OutboxRow.sent_at.is_not(None),
            )
            .group_by(OutboxRow.unit_code)
        )
        return {unit: sent for unit, sent in rows if sent is not None}
