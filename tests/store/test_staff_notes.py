"""Restricted notes on the staff page: only a guide on the project sees them, and every note
shown is in the audit log (read through the audited repository, in the same transaction)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from keukentafel.domain.audit import AuditKind
from keukentafel.domain.model import RestrictedNote
from keukentafel.domain.staff import Role, StaffMember
from keukentafel.store.repositories.audit import AuditLog
from keukentafel.store.repositories.restricted_notes import RestrictedNotes
from keukentafel.usecases import staff_page
from tests import builders
from tests.builders import CORP, RENOVATION, run

NOW = datetime(2026, 12, 6, 10, 0)
GUIDE = StaffMember("oid-1", "bea@example.org", "Bea", frozenset({Role.GUIDE}), frozenset({"P"}))
ADMIN = StaffMember("oid-2", "adm@example.org", "Adm", frozenset({Role.ADMIN}), frozenset())


def test_a_guide_sees_the_notes_and_each_view_is_audited(
    sessions: sessionmaker[Session],
) -> None:
    run(sessions, builders.register(3))
    with sessions.begin() as session:
        notes = RestrictedNotes(session, CORP)
        notes.add(RestrictedNote("R2", "Bezoek met twee personen", "bea"), NOW)
        notes.add(RestrictedNote("R3", "Niet van deze eenheid", "bea"), NOW)
    shown = staff_page.restricted_notes(
        sessions, RENOVATION, "VHE00002", GUIDE, on=date(2026, 12, 6), now=NOW
    )
    assert [n.text for n in shown] == ["Bezoek met twee personen"]
    with sessions() as session:
        events = AuditLog(session).events(CORP, unit_code="VHE00002")
    assert [(e.event.kind, e.event.actor) for e in events] == [
        (AuditKind.RESTRICTED_NOTE_VIEWED, "entra:oid-1")
    ]


def test_an_admin_does_not_see_notes_and_nothing_is_recorded(
    sessions: sessionmaker[Session],
) -> None:
    run(sessions, builders.register(2))
    with pytest.raises(staff_page.NotAllowed):
        staff_page.restricted_notes(
            sessions, RENOVATION, "VHE00001", ADMIN, on=date(2026, 12, 6), now=NOW
        )
    with sessions() as session:
        assert AuditLog(session).events(CORP) == []
