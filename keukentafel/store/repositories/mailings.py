"""Recorded mailings: one row per mailing of a project, under its identity, with its state."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from keukentafel.domain.mailing import Mailing
from keukentafel.domain.messages import MessageKind
from keukentafel.store.models import MailingRow


def _mailing(row: MailingRow) -> Mailing:
    return Mailing(
        corporation_code=row.corporation_code,
        project_code=row.project_code,
        kind=row.kind,
        mailing_id=row.mailing_id,
        content_digest=row.content_digest,
        state=row.state,
        started_by=row.started_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        follows=row.follows,
        content=row.content,
        recipients=tuple(row.recipients or ()),
    )


class MailingRepository:
    """The mailings of one corporation."""

    def __init__(self, session: Session, corporation_code: str) -> None:
        self.session = session
        self.corporation = corporation_code

    def _row(self, project_code: str, kind: MessageKind, mailing_id: str) -> MailingRow | None:
        return self.session.scalars(
            select(MailingRow).where(
                MailingRow.corporation_code == self.corporation,
                MailingRow.project_code == project_code,
                MailingRow.kind == kind,
                MailingRow.mailing_id == mailing_id,
            )
        ).first()

    def get(self, project_code: str, kind: MessageKind, mailing_id: str) -> Mailing | None:
        """The mailing with this identity, or None when it was never planned."""
        row = self._row(project_code, kind, mailing_id)
        return _mailing(row) if row is not None else None

    def save(self, mailing: Mailing) -> None:
        """Record the mailing: a new row, or the row with its identity brought up to date."""
        if mailing.corporation_code != self.corporation:
            raise ValueError(f"mailing {mailing.key} is not one of {self.corporation}")
        row = self._row(mailing.project_code, mailing.kind, mailing.mailing_id)
        if row is None:
            row = MailingRow(
                corporation_code=mailing.corporation_code,
                project_code=mailing.project_code,
                kind=mailing.kind,
                mailing_id=mailing.mailing_id,
                created_at=mailing.created_at,
            )
            self.session.add(row)
        row.content_digest = mailing.content_digest
        row.state = mailing.state
        row.started_by = mailing.started_by[:200]
        row.updated_at = mailing.updated_at
        row.follows = mailing.follows
        row.content = dict(mailing.content) if mailing.content is not None else None
        row.recipients = list(mailing.recipients) if mailing.recipients else None

    def of_project(self, project_code: str) -> list[Mailing]:
        """Every mailing of the project, oldest first."""
        rows = self.session.scalars(
            select(MailingRow)
            .where(
                MailingRow.corporation_code == self.corporation,
                MailingRow.project_code == project_code,
            )
            .order_by(MailingRow.id)
        )
        return [_mailing(row) for row in rows]
