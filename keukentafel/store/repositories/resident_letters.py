"""The letters each household was sent (``resident_letters``), with the archived PDF's path.

One row per mailing and unit: a mailing written again points the row at its newest file. The
path is relative to the output folder, so the store does not pin where that folder lives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from keukentafel.domain.mailing import MailingState
from keukentafel.store.models import MailingRow, ResidentLetterRow
from keukentafel.store.repositories._bulk import chunks


@dataclass(frozen=True, slots=True)
class SentLetter:
    public_id: str
    corporation_code: str
    project_code: str
    unit_code: str
    tenancy: str
    kind: str
    mailing_key: str
    letter_date: date
    file: str  # relative to the output folder


class ResidentLetterRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def record(self, letters: Sequence[SentLetter], now: datetime) -> None:
        """Record letters; the same mailing and unit again updates its file and date only."""
        if not letters:
            return
        dialect = self.session.get_bind().dialect.name
        insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
        rows = [
            {
                "public_id": x.public_id,
                "corporation_code": x.corporation_code,
                "project_code": x.project_code,
                "unit_code": x.unit_code,
                "tenancy": x.tenancy,
                "kind": x.kind,
                "mailing_key": x.mailing_key,
                "letter_date": x.letter_date,
                "file": x.file,
                "created_at": now,
            }
            for x in letters
        ]
        stmt = insert(ResidentLetterRow)
        stmt = stmt.on_conflict_do_update(
            index_elements=["mailing_key", "unit_code"],
            set_={"file": stmt.excluded.file, "letter_date": stmt.excluded.letter_date},
        )
        for chunk in chunks(rows, 1000):
            self.session.execute(stmt, list(chunk))

    def for_unit(
        self, corporation_code: str, unit_code: str, *, tenancy: str | None = None
    ) -> list[SentLetter]:
        """The unit's letters of prepared mailings, newest first; with ``tenancy``, only those
        sent to that tenancy (a new tenant never sees the previous tenant's letters)."""
        prepared = self.prepared_mailings(corporation_code)
        query = select(ResidentLetterRow).where(
            ResidentLetterRow.corporation_code == corporation_code,
            ResidentLetterRow.unit_code == unit_code,
        )
        if tenancy is not None:
            query = query.where(ResidentLetterRow.tenancy == tenancy)
        rows = self.session.scalars(
            query.order_by(ResidentLetterRow.letter_date.desc(), ResidentLetterRow.id.desc())
        )
        return [_letter(row) for row in rows if row.mailing_key in prepared]

    def prepared_mailings(self, corporation_code: str) -> set[str]:
        """The keys of the corporation's prepared mailings (what went to print and the outbox)."""
        rows = self.session.execute(
            select(MailingRow.project_code, MailingRow.kind, MailingRow.mailing_id).where(
                MailingRow.corporation_code == corporation_code,
                MailingRow.state == MailingState.PREPARED,
            )
        )
        return {f"{corporation_code}/{p}/{k}/{m}" for p, k, m in rows}

    def last_per_unit(self, corporation_code: str, project_code: str) -> dict[str, date]:
        """The date of each unit's newest letter in the project."""
        rows = self.session.execute(
            select(ResidentLetterRow.unit_code, ResidentLetterRow.letter_date).where(
                ResidentLetterRow.corporation_code == corporation_code,
                ResidentLetterRow.project_code == project_code,
            )
        )
        found: dict[str, date] = {}
        for unit, day in rows:
            if unit not in found or day > found[unit]:
                found[unit] = day
        return found


def _letter(row: ResidentLetterRow) -> SentLetter:
    return SentLetter(
        public_id=row.public_id,
        corporation_code=row.corporation_code,
        project_code=row.project_code,
        unit_code=row.unit_code,
        tenancy=row.tenancy,
        kind=row.kind,
        mailing_key=row.mailing_key,
        letter_date=row.letter_date,
        file=row.file,
    )
