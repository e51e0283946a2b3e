"""Restricted notes (special-category data): the only way to read them records the view.

:meth:`RestrictedNotes.read` is the one read path of the ``restricted_notes`` table: it returns the
notes on a household's residents and records one ``restricted_note_viewed`` event per note in the
audit log, in the caller's transaction. No sync, export, letter context or report reads them
(a test checks that no other module selects from the table). Counting notes, adding one and the
purge's erasure do not show their text and are not views.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from keukentafel.domain.audit import AuditEvent, AuditKind
from keukentafel.domain.model import RestrictedNote
from keukentafel.store.models import RestrictedNoteRow
from keukentafel.store.repositories._bulk import chunks
from keukentafel.store.repositories.audit import AuditLog


@dataclass(frozen=True, slots=True)
class StoredNote:
    id: int
    note: RestrictedNote
    created_at: datetime


class RestrictedNotes:
    """The restricted notes of one corporation."""

    def __init__(self, session: Session, corporation_code: str) -> None:
        self.session = session
        self.corporation = corporation_code

    def read(
        self, unit_code: str, relation_ids: Iterable[str], *, viewer: str, at: datetime
    ) -> list[StoredNote]:
        """The notes on these residents of ``unit_code``, oldest first, each view recorded in
        the audit log as seen by ``viewer`` (a member of staff: ``web:<object id>``)."""
        wanted = sorted(set(relation_ids))
        notes: list[StoredNote] = []
        for chunk in chunks(wanted, 900):
            rows = self.session.scalars(
                select(RestrictedNoteRow).where(
                    RestrictedNoteRow.corporation_code == self.corporation,
                    RestrictedNoteRow.relation_id.in_(chunk),
                )
            )
            notes.extend(
                StoredNote(
                    row.id, RestrictedNote(row.relation_id, row.text, row.author), row.created_at
                )
                for row in rows
            )
        notes.sort(key=lambda n: (n.created_at, n.id))
        AuditLog(self.session).record_all(
            AuditEvent(
                AuditKind.RESTRICTED_NOTE_VIEWED,
                self.corporation,
                viewer,
                at=at,
                unit_code=unit_code,
                subject=f"note:{n.id}",
            )
            for n in notes
        )
        return notes

    def add(self, note: RestrictedNote, at: datetime) -> int:
        """Store a note; returns its id. Writing a note is not a view."""
        row = RestrictedNoteRow(
            corporation_code=self.corporation,
            relation_id=note.relation_id,
            text=note.text,
            author=note.author[:200],
            created_at=at,
        )
        self.session.add(row)
        self.session.flush()
        return row.id

    def count(self, relation_ids: Iterable[str]) -> int:
        """How many notes there are on these residents (their text is not read)."""
        total = 0
        for chunk in chunks(sorted(set(relation_ids)), 900):
            total += (
                self.session.scalar(
                    select(func.count()).where(
                        RestrictedNoteRow.corporation_code == self.corporation,
                        RestrictedNoteRow.relation_id.in_(chunk),
                    )
                )
                or 0
            )
        return total

    def erase(self, relation_ids: Iterable[str]) -> Counter[str]:
        """Delete the notes on these residents (the purge); how many per relation id."""
        erased: Counter[str] = Counter()
        for chunk in chunks(sorted(set(relation_ids)), 900):
            rows = self.session.execute(
                delete(RestrictedNoteRow)
                .where(
                    RestrictedNoteRow.corporation_code == self.corporation,
                    RestrictedNoteRow.relation_id.in_(chunk),
                )
                .returning(RestrictedNoteRow.relation_id)
            )
            erased.update(relation_id for (relation_id,) in rows)
        return erased
